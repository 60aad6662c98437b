//! The simulated EC2 service's front door: admits calls through the account's token buckets, answers them
//! after a sampled latency (the [`Inventory`] applies their effects at that moment), and drives the
//! client-side SDK retryer. It owns the VPC's subnets, as EC2 does.
//!
//! Flow of one call: [`ControlPlane::submit`] → (bucket empty) `Refused` after the throttle latency, or
//! `Answer` after the action's latency, where the effect happens → on a retryable error the client's retryer
//! schedules `Retry` after its backoff → … → the final answer is returned from [`ControlPlane::handle`] as a
//! [`Completion`] for the world to route to the caller.

use super::action::{ACTION_COUNT, Action};
use super::api::*;
use super::config::Ec2Config;
use super::inventory::Inventory;
use super::record::{AttemptRecord, CallLog, CallRecorder, Outcome};
use super::retry::{RetryDecision, RetryQuota};
use super::token_bucket::TokenBucket;
use crate::sim::engine::Context;
use crate::sim::rng::Stream;
use crate::sim::time::SimTime;
use crate::sim::vpc::Subnet;

const LATENCY: Stream = Stream("ec2.latency");
const RETRY: Stream = Stream("ec2.retry");

/// The control plane's own events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ec2Event {
    /// The service has processed an attempt: apply it and answer.
    Answer(CallId),
    /// A throttled attempt's error reaches the client.
    Refused(CallId),
    /// The retryer's backoff is over: send the next attempt.
    Retry(CallId),
    /// An attachment finishes attaching.
    AttachDone {
        eni: EniId,
        attachment: AttachmentId,
    },
    /// A detachment finishes; the ENI becomes available.
    DetachDone {
        eni: EniId,
        attachment: AttachmentId,
    },
    InstanceRunning(InstanceId),
    InstanceTerminated(InstanceId),
}

/// A finished logical call, for the world to hand to its caller.
#[derive(Clone, Debug, PartialEq)]
pub struct Completion {
    pub call: CallId,
    pub client: ClientId,
    pub action: Action,
    pub result: ApiResult,
    /// Attempts made, 1 if the first succeeded.
    pub attempts: u32,
    pub submitted: SimTime,
}

struct AccountBuckets {
    request: Vec<TokenBucket>,
    unfiltered: Vec<Option<TokenBucket>>,
    resource: Vec<Option<TokenBucket>>,
}

struct Client {
    account: usize,
    quota: RetryQuota,
    /// A caller outside the cluster (`sim::ec2::external`): its attempts are kept out of the record.
    external: bool,
}

struct Call {
    client: ClientId,
    request: Request,
    submitted: SimTime,
    attempt: u32,
    attempt_sent: SimTime,
    last_retry_cost: u32,
    /// The last attempt was throttled and the retryer is backing off.
    throttled: bool,
}

pub struct ControlPlane {
    cfg: Ec2Config,
    inventory: Inventory,
    accounts: Vec<AccountBuckets>,
    clients: Vec<Client>,
    /// Calls in flight, by `CallId`; finished slots are reused.
    calls: Vec<Option<Call>>,
    free_calls: Vec<u32>,
    record: CallRecorder,
}

impl ControlPlane {
    /// `keep_call_log` keeps the attempts `cfg.call_log` names for `api_calls.csv`; without it, none.
    pub fn new(cfg: Ec2Config, subnets: Vec<Subnet>, keep_call_log: bool) -> Self {
        let call_log = if keep_call_log {
            cfg.call_log
        } else {
            CallLog::None
        };
        let accounts = cfg
            .accounts
            .iter()
            .map(|a| AccountBuckets {
                request: a
                    .limits
                    .iter()
                    .map(|l| TokenBucket::new(l.request))
                    .collect(),
                unfiltered: a
                    .limits
                    .iter()
                    .map(|l| l.unfiltered.map(TokenBucket::new))
                    .collect(),
                resource: a
                    .limits
                    .iter()
                    .map(|l| l.resource.map(TokenBucket::new))
                    .collect(),
            })
            .collect();
        ControlPlane {
            inventory: Inventory::new(cfg.lifecycle.clone(), subnets)
                .with_prefix_shortfall(cfg.create_eni_prefix_shortfall),
            cfg,
            accounts,
            clients: Vec::new(),
            calls: Vec::new(),
            free_calls: Vec::new(),
            record: CallRecorder::new(call_log),
        }
    }

    pub fn config(&self) -> &Ec2Config {
        &self.cfg
    }

    /// A new caller with its own retry quota, drawing on `account`'s buckets.
    pub fn register_client(&mut self, account: usize) -> ClientId {
        assert!(
            account < self.accounts.len(),
            "account index {account} out of range"
        );
        self.clients.push(Client {
            account,
            quota: RetryQuota::new(&self.cfg.retry),
            external: false,
        });
        ClientId((self.clients.len() - 1) as u32)
    }

    /// A caller outside the cluster (`sim::ec2::external`): it draws on `account`'s buckets like any other,
    /// but its attempts are not the cluster's and stay out of the record (its owner counts them).
    pub fn register_external_client(&mut self, account: usize) -> ClientId {
        let id = self.register_client(account);
        self.clients[id.0 as usize].external = true;
        id
    }

    pub fn retry_quota(&self, client: ClientId) -> u32 {
        self.clients[client.0 as usize].quota.tokens()
    }

    /// The subnets, instances and ENIs, as EC2 holds them now.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// For other tenants of the subnets, who take addresses without calling our API.
    pub fn inventory_mut(&mut self) -> &mut Inventory {
        &mut self.inventory
    }

    /// Takes the attempts the call log holds ([`CallRecorder::take_log`]).
    pub fn take_attempts(&mut self) -> std::vec::Drain<'_, AttemptRecord> {
        self.record.take_log()
    }

    pub fn record(&self) -> &CallRecorder {
        &self.record
    }

    /// Whether call `id` is in flight and waiting for the retryer's back-off after a throttled attempt.
    pub fn is_throttled(&self, id: CallId) -> bool {
        self.calls
            .get(id.0 as usize)
            .and_then(Option::as_ref)
            .is_some_and(|c| c.throttled)
    }

    /// Sends a call. Its answer comes back from [`ControlPlane::handle`] as a [`Completion`].
    pub fn submit<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        client: ClientId,
        request: Request,
    ) -> CallId {
        let call = Call {
            client,
            request,
            submitted: ctx.now(),
            attempt: 0,
            attempt_sent: ctx.now(),
            last_retry_cost: 0,
            throttled: false,
        };
        let id = match self.free_calls.pop() {
            Some(i) => {
                self.calls[i as usize] = Some(call);
                CallId(i)
            }
            None => {
                self.calls.push(Some(call));
                CallId((self.calls.len() - 1) as u32)
            }
        };
        self.send_attempt(ctx, id);
        id
    }

    fn send_attempt<E: From<Ec2Event>>(&mut self, ctx: &mut Context<'_, E>, id: CallId) {
        let now = ctx.now();
        let call = self.calls[id.0 as usize].as_mut().expect("live call");
        call.attempt += 1;
        call.attempt_sent = now;
        let account = self.clients[call.client.0 as usize].account;
        let admitted = admit(
            &mut self.accounts[account],
            &call.request,
            self.cfg.id_list_is_unfiltered,
            now,
        );
        let action = call.request.action();
        if admitted {
            let d = self.cfg.latency[action.index()].sample(ctx.rng(LATENCY));
            ctx.schedule_in(d, Ec2Event::Answer(id));
        } else {
            let d = self.cfg.throttle_latency.sample(ctx.rng(LATENCY));
            ctx.schedule_in(d, Ec2Event::Refused(id));
        }
    }

    /// Handles a control-plane event; returns a finished call, if this event finished one.
    pub fn handle<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        event: Ec2Event,
    ) -> Option<Completion> {
        match event {
            Ec2Event::Answer(id) => {
                // Taken out of its slot while it executes, so the request need not be cloned.
                let call = self.calls[id.0 as usize].take().expect("live call");
                let account = self.clients[call.client.0 as usize].account;
                let result = self.inventory.execute(ctx, account, &call.request);
                self.calls[id.0 as usize] = Some(call);
                self.answered(ctx, id, result)
            }
            Ec2Event::Refused(id) => self.answered(ctx, id, Err(ApiError::throttled())),
            Ec2Event::Retry(id) => {
                self.send_attempt(ctx, id);
                None
            }
            lifecycle => {
                self.inventory.on_lifecycle(ctx, lifecycle);
                None
            }
        }
    }

    /// Records an attempt's answer and either retries or finishes the call.
    fn answered<E: From<Ec2Event>>(
        &mut self,
        ctx: &mut Context<'_, E>,
        id: CallId,
        result: ApiResult,
    ) -> Option<Completion> {
        let now = ctx.now();
        let call = self.calls[id.0 as usize].as_mut().expect("live call");
        let action = call.request.action();
        let outcome = match &result {
            Ok(_) => Outcome::Ok,
            Err(e) if e.code == ErrorCode::RequestLimitExceeded => Outcome::Throttled,
            Err(e) => Outcome::Error(e.code),
        };
        let client = &mut self.clients[call.client.0 as usize];
        if !client.external {
            self.record.attempt(AttemptRecord {
                sent: call.attempt_sent,
                client: call.client,
                action,
                outcome,
                latency: now.since(call.attempt_sent),
                attempt: call.attempt,
            });
        }
        let external = client.external;
        let quota = &mut client.quota;
        match &result {
            Ok(_) => quota.on_success(&self.cfg.retry, call.last_retry_cost),
            Err(e) => {
                if let RetryDecision::RetryAfter { delay, cost } = quota.on_failure(
                    &self.cfg.retry,
                    call.attempt,
                    e.code.is_retryable(),
                    ctx.rng(RETRY),
                ) {
                    call.last_retry_cost = cost;
                    call.throttled = outcome == Outcome::Throttled;
                    ctx.schedule_in(delay, Ec2Event::Retry(id));
                    return None;
                }
            }
        }
        let call = self.calls[id.0 as usize].take().expect("live call");
        self.free_calls.push(id.0);
        if !external {
            self.record
                .call_finished(action, result.as_ref().err().map(|e| e.code));
        }
        Some(Completion {
            call: id,
            client: call.client,
            action,
            result,
            attempts: call.attempt,
            submitted: call.submitted,
        })
    }
}

/// Takes the tokens a request needs from every bucket that applies, or none if any is short.
fn admit(b: &mut AccountBuckets, req: &Request, id_list_is_unfiltered: bool, now: SimTime) -> bool {
    let a = req.action().index();
    debug_assert!(a < ACTION_COUNT);
    let request = match (
        &mut b.unfiltered[a],
        req.is_unfiltered(id_list_is_unfiltered),
    ) {
        (Some(u), true) => u,
        _ => &mut b.request[a],
    };
    let n = req.resource_count();
    match &mut b.resource[a] {
        Some(res) if n > 0 => {
            if request.has(now, 1) && res.has(now, n) {
                request.try_take(now, 1) && res.try_take(now, n)
            } else {
                false
            }
        }
        _ => request.try_take(now, 1),
    }
}
