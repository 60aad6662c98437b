//! A sequential process inside the event-driven simulation.
//!
//! ipamd's control loop is one goroutine that makes EC2 calls synchronously and sleeps between steps, so its
//! logic reads best as straight-line code. The simulator writes it as a Rust `async` block and drives it here
//! without any runtime: the process asks for one thing at a time through [`Io`] (an EC2 call, a sleep, an
//! instance-metadata read) and is polled again when the world has the answer. Nothing is shared between
//! threads; the waker is a no-op because the driver always knows when to poll.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context as TaskContext, Poll, Waker};

use super::daemon::Step;
use crate::sim::ec2::{ApiResult, MetadataEni, MetadataStamp, Request};
use crate::sim::time::{SimDuration, SimTime};

/// What a suspended process waits for.
#[derive(Debug)]
pub enum Want {
    /// An EC2 call through the control plane (token buckets, latency, SDK retries).
    Call(Request),
    /// A read-only EC2 answer that is not sent through the control plane (reconcile without API accounting).
    Peek(Request),
    /// The instance metadata service: a local read, answered at once.
    Metadata,
    /// The same read with the view's stamp, or, when the view is still the one stamped `seen`, no read.
    MetadataSince(Option<MetadataStamp>),
    Sleep(SimDuration),
    /// The pool manager's sleep before its next step (of this kind): at least this long, and as many more of
    /// these intervals as the steps due in them would do nothing (the driver may pass over them, `Ipamd`'s
    /// idle ticks).
    Tick(SimDuration, Step),
}

/// What the world hands back.
#[derive(Debug)]
pub enum Reply {
    Api(ApiResult),
    Metadata(Vec<MetadataEni>),
    /// The view and its stamp (`None`: the view may still change with time alone).
    StampedMetadata(Vec<MetadataEni>, Option<MetadataStamp>),
    /// The view is still the one stamped `seen`.
    MetadataUnchanged,
    Woke,
    /// A tick's sleep ended after this many intervals beyond the first: steps that would have done nothing.
    Ticked(u64),
}

/// The mailbox between a process and its driver.
#[derive(Debug, Default)]
pub struct Io {
    pub now: SimTime,
    pub want: Option<Want>,
    pub reply: Option<Reply>,
}

/// A process's handle on its mailbox: the awaitable operations.
#[derive(Clone, Default)]
pub struct Port(pub Rc<RefCell<Io>>);

impl Port {
    pub fn now(&self) -> SimTime {
        self.0.borrow().now
    }

    fn ask(&self, want: Want) -> Ask<'_> {
        Ask {
            io: &self.0,
            want: Some(want),
        }
    }

    pub async fn call(&self, request: Request) -> ApiResult {
        match self.ask(Want::Call(request)).await {
            Reply::Api(r) => r,
            other => unreachable!("a call is answered by the API, got {other:?}"),
        }
    }

    pub async fn peek(&self, request: Request) -> ApiResult {
        match self.ask(Want::Peek(request)).await {
            Reply::Api(r) => r,
            other => unreachable!("a peek is answered by the API, got {other:?}"),
        }
    }

    pub async fn metadata(&self) -> Vec<MetadataEni> {
        match self.ask(Want::Metadata).await {
            Reply::Metadata(m) => m,
            other => unreachable!("a metadata read is answered by IMDS, got {other:?}"),
        }
    }

    /// Reads IMDS with the view's stamp, unless the view is still the one stamped `seen`: `None` then.
    pub async fn metadata_since(
        &self,
        seen: Option<MetadataStamp>,
    ) -> Option<(Vec<MetadataEni>, Option<MetadataStamp>)> {
        match self.ask(Want::MetadataSince(seen)).await {
            Reply::StampedMetadata(m, stamp) => Some((m, stamp)),
            Reply::MetadataUnchanged => None,
            other => unreachable!("a metadata read is answered by IMDS, got {other:?}"),
        }
    }

    pub async fn sleep(&self, d: SimDuration) {
        match self.ask(Want::Sleep(d)).await {
            Reply::Woke => {}
            other => unreachable!("a sleep ends with a wake-up, got {other:?}"),
        }
    }

    /// Sleeps `every`, or a whole number of `every`s when the steps in between would do nothing; returns how
    /// many intervals were passed over beyond the first.
    pub async fn tick(&self, every: SimDuration, next: Step) -> u64 {
        match self.ask(Want::Tick(every, next)).await {
            Reply::Ticked(skipped) => skipped,
            other => unreachable!("a tick ends with a wake-up, got {other:?}"),
        }
    }
}

/// One request: posts its `Want` on the first poll, completes when a reply is there.
struct Ask<'a> {
    io: &'a RefCell<Io>,
    want: Option<Want>,
}

impl Future for Ask<'_> {
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, _: &mut TaskContext<'_>) -> Poll<Reply> {
        let mut io = self.io.borrow_mut();
        if let Some(want) = self.want.take() {
            debug_assert!(io.want.is_none(), "one request at a time");
            io.want = Some(want);
            return Poll::Pending;
        }
        match io.reply.take() {
            Some(r) => Poll::Ready(r),
            None => Poll::Pending,
        }
    }
}

/// A running process: its future and its mailbox.
pub struct Process {
    port: Port,
    future: Option<Pin<Box<dyn Future<Output = ()>>>>,
}

impl Process {
    pub fn new(port: Port, future: impl Future<Output = ()> + 'static) -> Self {
        Process {
            port,
            future: Some(Box::pin(future)),
        }
    }

    /// Runs the process at `now` with `reply` (if any) until it waits for something, and returns what it waits
    /// for; `None` once it has finished.
    pub fn resume(&mut self, now: SimTime, reply: Option<Reply>) -> Option<Want> {
        {
            let mut io = self.port.0.borrow_mut();
            io.now = now;
            io.reply = reply;
        }
        let fut = self.future.as_mut()?;
        let mut cx = TaskContext::from_waker(Waker::noop());
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(()) => {
                self.future = None;
                None
            }
            Poll::Pending => {
                let want = self.port.0.borrow_mut().want.take();
                debug_assert!(want.is_some(), "a pending process waits for something");
                want
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.future.is_none()
    }
}
