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
vpcsim run scenarios/ipv6-vs-ipv4.toml --out "$out/ipv6-vs-ipv4" > /dev/null
vpcsim run scenarios/security-groups-for-pods.toml --out "$out/security-groups-for-pods" > /dev/null
vpcsim inspect scenarios/fragmented-subnet.toml --out "$out/fragmented-subnet-inspect" > /dev/null
# The README's walkthrough on the fixture VPC: import, inspect, then advise with churn added.
aws=tests/fixtures/aws
vpcsim import --subnets "$aws/subnets.json" --network-interfaces "$aws/enis.json" \
    --reservations "$aws/reservations.json" --instances "$aws/instances.json" --out "$out/mine.toml" 2> /dev/null
vpcsim inspect "$out/mine.toml" --out "$out/your-subnet-inspect" > /dev/null
sed 's/^duration = "1h".*/duration = "5m"/' "$out/mine.toml" > "$out/mine-churn.toml"
cat "$aws/churn.toml" >> "$out/mine-churn.toml"
vpcsim advise "$out/mine-churn.toml" --out "$out/your-subnet-advise" > /dev/null
for s in compare-modes reservation-strategies warm-targets throttling; do
    vpcsim sweep "scenarios/$s.toml" --out "$out/$s" > /dev/null
done

copy() { cp "$out/$1/plots/$2.png" "$images/$1--$2.png"; }
copy quickstart ip-wait-cdf
copy quickstart ec2-calls
copy quickstart ip-pools
copy ipv6-vs-ipv4 ec2-calls
copy ipv6-vs-ipv4 ip-wait-cdf
copy security-groups-for-pods ec2-calls
copy security-groups-for-pods launch-latency-cdf
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
copy your-subnet-inspect subnet-eks-pods-a
copy your-subnet-advise advise-pareto
