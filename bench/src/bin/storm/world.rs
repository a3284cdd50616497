//! The function's world: Lambda's SQS poller, containers, other tools and CloudFront, on tokio's
//! paused clock in milliseconds. Each invocation is a task running the real `lambda::handle_with`;
//! every CloudFront call it makes goes through [`Edge`], which charges the API latency to the
//! invocation's time, so invocations that overlap interleave their calls and race for the room.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use cf_invalidator::cloudfront::memory::Op;
use cf_invalidator::cloudfront::{CloudFront, CreateRequest, Invalidation, InvalidationPage, MemoryCloudFront};
use cf_invalidator::deadline::{self, Instant};
use cf_invalidator::invocation::Invocation;
use cf_invalidator::known::Known;
use cf_invalidator::lambda::{self, Output};
use cf_invalidator::model::{TargetId, API_MAX_PATHS};
use cf_invalidator::queue::Queue;
use cf_invalidator::track;
use cf_invalidator::{Config, Error};
use serde_json::{json, Value};

use crate::workload::{completion, deployed_config, hold_batches, py_quote, Creator, Storm, DIST, SELF};

/// Pollers Lambda starts an SQS event source mapping with when no maximum concurrency is set.
const UNCAPPED_POLLERS: usize = 5;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    /// `lambda::handle_with` on the CloudFront as it is.
    Ours,
    /// `lambda::handle_with` behind a CloudFront that lists nothing in progress: quota-unaware planning.
    Before,
    /// The usual Python boto3 function (benches/python/invalidator.py), modelled.
    Python,
}

/// How the event source mapping and the queue are set up for one behaviour.
#[derive(Debug, Clone, Copy)]
pub struct Queueing {
    pub batch_size: usize,
    pub window: u64,
    /// `None`: no maximum concurrency.
    pub max_concurrency: Option<usize>,
    pub visibility: u64,
    pub max_receives: u32,
}

/// What the world charges and enforces.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    pub api_latency: Duration,
    pub function_timeout: Duration,
    /// Containers started before the latest multiple of this are replaced when next used.
    pub cold_every: Duration,
    /// Invocations run one after another, each to its end, as before this model.
    pub serial: bool,
    pub trace: bool,
}

/// One invalidation as the storm saw it made, in milliseconds of simulated time.
#[derive(Debug, Clone)]
pub struct Made {
    pub creator: Creator,
    /// The invocation whose batch it was made from (the function's own only).
    pub invocation: Option<usize>,
    pub created_ms: u64,
    pub completes_ms: u64,
    pub paths: Vec<String>,
}

/// Whoever is calling CreateInvalidation now, for the completion rule, which
/// `MemoryCloudFront::set_completion` asks inside the create (nothing else runs meanwhile: the
/// in-memory create never yields).
#[derive(Default)]
struct Creating {
    creator: Creator,
    ordinals: HashMap<Creator, u64>,
    /// The seconds drawn for the invalidation just created.
    drawn: u64,
}

/// One container: when it started, and what it remembers between invocations (the library's
/// own [`Known`], as the Lambda's `main.rs` holds it). A cold start is a fresh one.
#[derive(Default)]
pub struct Container {
    started_ms: u64,
    known: Arc<Known>,
}

pub struct World {
    cf: MemoryCloudFront,
    start: Instant,
    rules: Rules,
    creating: Arc<Mutex<Creating>>,
    made: Mutex<Vec<(String, Made)>>,
    /// The function's own calls (other tools' are not counted), and its refused creates.
    calls: Mutex<HashMap<Op, usize>>,
    refusals: Mutex<usize>,
    /// Bodies the function sent back to the queue (held for room), with when they are visible
    /// again (ms), and the SendMessageBatch calls that took.
    requeued: Mutex<HashMap<String, u64>>,
    sends: Mutex<usize>,
}

impl World {
    fn new(storm: &Storm, rules: Rules) -> World {
        let cf = MemoryCloudFront::new(&[DIST]);
        let creating = Arc::new(Mutex::new(Creating::default()));
        let (span, seed, hold, c) = (storm.span, storm.seed, storm.hold, creating.clone());
        let holder = hold_creator(storm);
        cf.set_completion(move |_seq| {
            let mut c = lock(&c);
            let creator = c.creator;
            let ordinal = *c.ordinals.entry(creator).and_modify(|n| *n += 1).or_insert(0);
            c.drawn = if creator == holder { hold } else { completion(span, seed, creator, ordinal) };
            c.drawn
        });
        World {
            cf,
            start: Instant::now(),
            rules,
            creating,
            made: Mutex::default(),
            calls: Mutex::default(),
            refusals: Mutex::default(),
            requeued: Mutex::default(),
            sends: Mutex::default(),
        }
    }

    fn now_ms(&self) -> u64 {
        Instant::now().saturating_duration_since(self.start).as_millis() as u64
    }

    /// Keeps the stand-in's clock on tokio's simulated one before it answers.
    fn sync(&self) -> u64 {
        let now = self.now_ms();
        self.cf.set_now_ms(now);
        now
    }

    /// CreateInvalidation now, recording who made what when.
    async fn create(
        &self,
        creator: Creator,
        invocation: Option<usize>,
        reference: &str,
        paths: &[String],
    ) -> Result<Invalidation, Error> {
        let now_ms = self.sync();
        lock(&self.creating).creator = creator;
        let req = CreateRequest { target: &TargetId::parse(DIST).unwrap(), caller_reference: reference, paths };
        let out = self.cf.create_invalidation(req, None).await;
        if let Ok(inv) = &out {
            let mut made = lock(&self.made);
            // A repeated CallerReference returns the existing invalidation: nothing new is made.
            if !made.iter().any(|(id, _)| *id == inv.id) {
                let drawn = lock(&self.creating).drawn;
                let m = Made {
                    creator,
                    invocation,
                    created_ms: now_ms,
                    completes_ms: now_ms + drawn * 1000,
                    paths: paths.to_vec(),
                };
                made.push((inv.id.clone(), m));
            }
        }
        out
    }

    fn count(&self, op: Op) {
        *lock(&self.calls).entry(op).or_default() += 1;
    }
}

/// The creator id of the `--hold` tool: after the `--other` tools.
pub fn hold_creator(storm: &Storm) -> Creator {
    storm.others.len() as Creator + 1
}

/// The function's view of CloudFront from one container: each call first takes the API latency
/// (so it counts against the invocation's deadline and lets concurrent invocations run), then
/// asks the in-memory CloudFront at that moment.
struct Edge {
    world: Arc<World>,
    container: Arc<Mutex<Container>>,
    invocation: usize,
    /// The behaviour before quota-aware planning: ListInvalidations reports nothing.
    quota_unaware: bool,
}

impl Edge {
    async fn latency(&self, op: Op) {
        self.world.count(op);
        tokio::time::sleep(self.world.rules.api_latency).await;
        self.world.sync();
    }
}

/// The function's queue: SendMessageBatch (ten bodies a call) takes the API latency each; a body
/// sent is a new message, visible after the delay, its receive count at zero.
impl Queue for Edge {
    async fn send_later(&self, _queue_arn: &str, bodies: &[&str], delay: Duration) -> Result<(), Error> {
        for chunk in bodies.chunks(cf_invalidator::queue::BATCH) {
            tokio::time::sleep(self.world.rules.api_latency).await;
            *lock(&self.world.sends) += 1;
            let visible = self.world.now_ms() + delay.as_millis() as u64;
            let mut requeued = lock(&self.world.requeued);
            for b in chunk {
                requeued.insert(b.to_string(), visible);
            }
        }
        Ok(())
    }
}

impl CloudFront for Edge {
    /// Gives up by the deadline as the SDK adapter does; a call cut short creates nothing (the
    /// latency is charged before CloudFront acts).
    async fn create_invalidation(&self, req: CreateRequest<'_>, by: Option<Instant>) -> Result<Invalidation, Error> {
        let call = async {
            self.latency(Op::Create).await;
            let out = self.world.create(SELF, Some(self.invocation), req.caller_reference, req.paths).await;
            if matches!(out, Err(Error::TooManyInvalidationsInProgress { .. })) {
                *lock(&self.world.refusals) += 1;
            }
            out
        };
        deadline::by(by, call, |left| {
            Err(Error::CloudFront(format!(
                "CreateInvalidation gave up after {} ms to answer before the invocation's deadline",
                left.as_millis()
            )))
        })
        .await
    }

    async fn get_invalidation(&self, distribution_id: &TargetId, id: &str) -> Result<Invalidation, Error> {
        self.latency(Op::Get).await;
        self.world.cf.get_invalidation(distribution_id, id).await
    }

    async fn list_invalidations(
        &self,
        distribution_id: &TargetId,
        marker: Option<&str>,
    ) -> Result<InvalidationPage, Error> {
        self.latency(Op::List).await;
        if self.quota_unaware {
            return Ok(InvalidationPage::default());
        }
        self.world.cf.list_invalidations(distribution_id, marker).await
    }
}

/// The usual Python function: one path per record (`/` + `quote(key, safe='/')`), sorted and
/// deduplicated, chunks of 3,000, a fresh CallerReference each call (`time.time()`); an
/// exception fails the whole batch, after whatever chunks it created.
async fn python_function(edge: &Edge, keys: &[String]) -> Result<(), Error> {
    let paths: Vec<String> =
        keys.iter().map(|k| py_quote(&format!("/{k}"))).collect::<BTreeSet<_>>().into_iter().collect();
    for (n, chunk) in paths.chunks(API_MAX_PATHS).enumerate() {
        let reference =
            format!("{}.{:03}-{}-{n}", edge.world.now_ms() / 1000, edge.world.now_ms() % 1000, edge.invocation);
        edge.create_invalidation(
            CreateRequest { target: &TargetId::parse(DIST).unwrap(), caller_reference: &reference, paths: chunk },
            None,
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// SQS and Lambda's poller.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Queued,
    Held,
    Deleted,
    DeadLettered,
}

pub struct Message {
    pub state: State,
    pub receives: u32,
    /// When it is (again) visible in the queue.
    visible_at: u64,
}

#[derive(Default)]
struct Poller {
    /// Free from this second (an invocation ends mid-second; the poller acts on whole seconds).
    busy_until: u64,
    running: bool,
    opened: Option<u64>,
    held: Vec<usize>,
}

/// How an invocation ended.
enum Ended {
    /// The messages named in `batchItemFailures` come back.
    Answered(HashSet<usize>),
    /// An error or Lambda's time-out: the whole batch comes back.
    Failed,
    TimedOut,
}

struct Running {
    handle: tokio::task::JoinHandle<(Ended, u64)>,
    poller: usize,
    number: usize,
    container: Arc<Mutex<Container>>,
}

pub struct Outcome {
    pub messages: Vec<Message>,
    /// Every invalidation made, by anyone, in creation order.
    pub made: Vec<Made>,
    /// Each invocation's batch, by invocation number.
    pub batches: Vec<Vec<usize>>,
    pub invocations: usize,
    /// Invocations that sent at least one message back (it waits out its visibility timeout).
    pub redelivering: usize,
    pub timed_out: usize,
    pub cold_starts: usize,
    pub receives: usize,
    pub refusals: usize,
    pub calls: [usize; 3],
    /// Messages sent back to the queue because they waited for room, and the calls that took.
    pub requeued: usize,
    pub sends: usize,
}

fn sqs_event(storm: &Storm, batch: &[usize], messages: &[Message]) -> String {
    let records: Vec<Value> = batch
        .iter()
        .map(|&i| {
            json!({
                "messageId": format!("msg-{i}"), "receiptHandle": format!("rh-{i}-{}", messages[i].receives),
                "body": storm.uploads[i].body,
                "attributes": {"ApproximateReceiveCount": messages[i].receives.to_string()},
                "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cf-invalidator-queue", "awsRegion": "us-east-1"
            })
        })
        .collect();
    json!({ "Records": records }).to_string()
}

/// One invocation, as a task: the handler (or the Python function) under Lambda's time-out.
async fn invoke(
    world: Arc<World>,
    cfg: Arc<Config>,
    edge: Edge,
    function: Function,
    payload: String,
    keys: Vec<String>,
) -> (Ended, u64) {
    let timeout = world.rules.function_timeout;
    let run = async {
        match function {
            Function::Ours | Function::Before => {
                let inv = Invocation {
                    request_id: format!("invocation-{}", edge.invocation),
                    deadline: Some(Instant::now() + timeout),
                    // The stand-in's CreateTime is seconds since the epoch of simulated time.
                    now: Some(std::time::UNIX_EPOCH + Duration::from_millis(world.now_ms())),
                };
                let known = lock(&edge.container).known.clone();
                let queue = (function == Function::Ours).then_some(&edge);
                match lambda::handle_with(&cfg, &edge, &known, None::<&track::Off>, queue, payload.as_bytes(), &inv)
                    .await
                {
                    Ok(Output::Sqs(r)) => Ended::Answered(
                        r.batch_item_failures
                            .iter()
                            .map(|f| {
                                f.item_identifier.strip_prefix("msg-").and_then(|n| n.parse().ok()).expect("our id")
                            })
                            .collect(),
                    ),
                    Ok(other) => panic!("an SQS batch answered {other:?}"),
                    Err(_) => Ended::Failed,
                }
            }
            Function::Python => match python_function(&edge, &keys).await {
                Ok(()) => Ended::Answered(HashSet::new()),
                Err(_) => Ended::Failed,
            },
        }
    };
    let ended = tokio::time::timeout(timeout, run).await.unwrap_or(Ended::TimedOut);
    (ended, world.now_ms())
}

/// Runs one behaviour through the storm on a fresh paused clock; returns what happened.
pub fn simulate(storm: &Storm, function: Function, q: Queueing, rules: Rules) -> Outcome {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a tokio runtime");
    // A local set: the handler's future is not provably `Send` for every lifetime tokio::spawn
    // asks, and on one thread it need not be.
    rt.block_on(tokio::task::LocalSet::new().run_until(run(storm, function, q, rules)))
}

async fn run(storm: &Storm, function: Function, q: Queueing, rules: Rules) -> Outcome {
    let world = Arc::new(World::new(storm, rules));
    let cfg = Arc::new(deployed_config(Some((q.window, rules.function_timeout))));
    if storm.hold > 0 {
        for (n, paths) in hold_batches().iter().enumerate() {
            world.create(hold_creator(storm), None, &format!("hold-{n}"), paths).await.expect("an empty distribution");
        }
    }
    let other_paths: Vec<Vec<String>> = storm.others.iter().enumerate().map(|(k, o)| o.paths(k)).collect();
    let mut messages: Vec<Message> =
        storm.uploads.iter().map(|u| Message { state: State::Queued, receives: 0, visible_at: u.arrival }).collect();
    // Queued messages by the time they are visible, oldest first.
    let mut queue: BTreeSet<(u64, usize)> = messages.iter().enumerate().map(|(i, m)| (m.visible_at, i)).collect();
    let mut pollers: Vec<Poller> =
        (0..q.max_concurrency.unwrap_or(UNCAPPED_POLLERS)).map(|_| Poller::default()).collect();
    let mut idle: Vec<Arc<Mutex<Container>>> = Vec::new();
    let cold_ms = (rules.cold_every.as_millis() as u64).max(1);
    let mut out = Outcome {
        messages: Vec::new(),
        made: Vec::new(),
        batches: Vec::new(),
        invocations: 0,
        redelivering: 0,
        timed_out: 0,
        cold_starts: 0,
        receives: 0,
        refusals: 0,
        calls: [0; 3],
        requeued: 0,
        sends: 0,
    };
    let mut running: Vec<Running> = Vec::new();

    // What an ended invocation means for its messages, its poller and its container.
    let apply = |r: Running,
                 (ended, at): (Ended, u64),
                 messages: &mut Vec<Message>,
                 queue: &mut BTreeSet<(u64, usize)>,
                 pollers: &mut Vec<Poller>,
                 idle: &mut Vec<Arc<Mutex<Container>>>,
                 out: &mut Outcome| {
        let batch = &out.batches[r.number];
        let failed: HashSet<usize> = match ended {
            Ended::Answered(f) => f,
            Ended::Failed => batch.iter().copied().collect(),
            Ended::TimedOut => {
                out.timed_out += 1;
                batch.iter().copied().collect()
            }
        };
        out.redelivering += usize::from(!failed.is_empty());
        if rules.trace {
            let made = lock(&world.made);
            let mine: Vec<String> = made
                .iter()
                .filter(|(_, m)| m.invocation == Some(r.number))
                .map(|(id, m)| {
                    let w = m.paths.iter().filter(|p| p.ends_with('*')).count();
                    format!(
                        "{id} at {:.1} s ({} exact + {w} wildcards, until {:.1} s)",
                        m.created_ms as f64 / 1000.0,
                        m.paths.len() - w,
                        m.completes_ms as f64 / 1000.0
                    )
                })
                .collect();
            let busy = world.cf.in_progress(DIST);
            eprintln!(
                "{function:?} ended at {:.1} s, invocation {}: {} messages, {} back; created [{}]; in progress now {} exact + {} wildcards",
                at as f64 / 1000.0,
                r.number,
                batch.len(),
                failed.len(),
                mine.join(", "),
                busy.exact,
                busy.wildcards
            );
        }
        let mut requeued = lock(&world.requeued);
        for &i in batch {
            let m = &mut messages[i];
            if failed.contains(&i) {
                m.state = State::Queued;
                queue.insert((m.visible_at, i));
            } else if let Some(visible_ms) = requeued.remove(&storm.uploads[i].body) {
                // Acknowledged, and a new message with the same body: its receives start again.
                m.state = State::Queued;
                m.receives = 0;
                m.visible_at = visible_ms.div_ceil(1000);
                queue.insert((m.visible_at, i));
                out.requeued += 1;
            } else {
                m.state = State::Deleted;
            }
        }
        drop(requeued);
        let p = &mut pollers[r.poller];
        p.running = false;
        p.busy_until = at.div_ceil(1000);
        idle.push(r.container);
    };

    for t in 0..=storm.horizon {
        tokio::time::sleep_until(world.start + Duration::from_secs(t)).await;
        world.sync();
        let (done, still): (Vec<Running>, Vec<Running>) = running.into_iter().partition(|r| r.handle.is_finished());
        running = still;
        for mut r in done {
            let ended = (&mut r.handle).await.expect("an invocation panicked");
            apply(r, ended, &mut messages, &mut queue, &mut pollers, &mut idle, &mut out);
        }
        // Other tools act first within a second (the same order as in the reference).
        for (k, o) in storm.others.iter().enumerate() {
            if o.due(t) {
                let _refused_until_next_tick =
                    world.create(k as Creator + 1, None, &format!("other-{k}-{t}"), &other_paths[k]).await;
            }
        }
        // Receive: each visible message to the free poller holding fewest.
        while queue.first().is_some_and(|&(at, _)| at <= t) {
            let Some(p) = pollers
                .iter_mut()
                .filter(|p| !p.running && p.busy_until <= t && p.held.len() < q.batch_size)
                .min_by_key(|p| p.held.len())
            else {
                break;
            };
            let (_, i) = queue.pop_first().expect("checked");
            let m = &mut messages[i];
            if m.receives >= q.max_receives {
                m.state = State::DeadLettered;
                continue;
            }
            m.receives += 1;
            out.receives += 1;
            m.state = State::Held;
            m.visible_at = t + q.visibility;
            p.opened.get_or_insert(t);
            p.held.push(i);
        }
        // Invoke: a batch is full or its window has passed.
        for pi in 0..pollers.len() {
            let p = &mut pollers[pi];
            let due = p.opened.is_some_and(|o| p.held.len() >= q.batch_size || t >= o + q.window);
            if !due || p.running || p.busy_until > t {
                continue;
            }
            let batch = std::mem::take(&mut p.held);
            p.opened = None;
            p.running = true;
            let number = out.batches.len();
            out.invocations += 1;
            // A warm container of this cold period, else a cold start.
            let period = world.now_ms() / cold_ms;
            idle.retain(|c| lock(c).started_ms / cold_ms == period);
            let container = idle.pop().unwrap_or_else(|| {
                out.cold_starts += 1;
                Arc::new(Mutex::new(Container { started_ms: world.now_ms(), ..Container::default() }))
            });
            let edge = Edge {
                world: world.clone(),
                container: container.clone(),
                invocation: number,
                quota_unaware: function == Function::Before,
            };
            let payload = sqs_event(storm, &batch, &messages);
            let keys = batch.iter().map(|&i| storm.uploads[i].key.clone()).collect();
            out.batches.push(batch);
            let handle = tokio::task::spawn_local(invoke(world.clone(), cfg.clone(), edge, function, payload, keys));
            let r = Running { handle, poller: pi, number, container };
            if rules.serial {
                let mut r = r;
                let ended = (&mut r.handle).await.expect("an invocation panicked");
                apply(r, ended, &mut messages, &mut queue, &mut pollers, &mut idle, &mut out);
            } else {
                running.push(r);
            }
        }
    }
    // Invocations still running at the horizon are left as they are: their messages stay held.
    for r in running {
        r.handle.abort();
    }
    out.messages = messages;
    out.made = lock(&world.made).drain(..).map(|(_, m)| m).collect();
    out.refusals = *lock(&world.refusals);
    out.sends = *lock(&world.sends);
    let calls = lock(&world.calls);
    out.calls = [Op::Create, Op::Get, Op::List].map(|op| calls.get(&op).copied().unwrap_or(0));
    out
}
