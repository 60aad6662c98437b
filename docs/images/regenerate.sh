#!/bin/sh
# Regenerates the README's pictures from the bundled scenarios (release build; under a minute on 2 cores):
#
#   sh docs/images/regenerate.sh
set -eu
cd "$(dirname "$0")/../.."
# Through `cargo run`, so the binary is found wherever CARGO_TARGET_DIR puts it.
cargo build --release --quiet
vpcsim() { cargo run --release --quiet -- "$@"; }
out=output/docs-images
images=docs/images

vpcsim run scenarios/quickstart.toml --out "$out/quickstart" > /dev/null
vpcsim inspect scenarios/fragmented-subnet.toml --out "$out/fragmented-subnet-inspect" > /dev/null
for s in compare-modes reservation-strategies warm-targets throttling; do
    vpcsim sweep "scenarios/$s.toml" --out "$out/$s" > /dev/null
done

copy() { cp "$out/$1/plots/$2.png" "$images/$1--$2.png"; }
copy quickstart ip-wait-cdf
copy quickstart ec2-calls
copy quickstart ip-pools
copy compare-modes sweep-pods.ip_wait_s.p99-by-instance_size
copy compare-modes sweep-ec2.calls_total-by-instance_size
copy compare-modes sweep-pods.started_ratio-by-subnets.pods.cidr
copy reservation-strategies sweep-insufficient-cidr-blocks
copy reservation-strategies sweep-pods.ip_wait_s.p99-by-subnet_size
copy warm-targets sweep-ips.allocated_mean-by-setting
copy warm-targets sweep-pods.ip_wait_s.p99-by-setting
copy warm-targets sweep-ec2.calls_total-by-setting
copy throttling sweep-ec2.throttled_total-by-nodes_after_scale-up
copy throttling sweep-pods.launch_latency_s.p99-by-nodes_after_scale-up
copy fragmented-subnet-inspect subnet-fragmented
