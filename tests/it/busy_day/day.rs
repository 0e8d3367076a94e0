//! The generated day: 50 services deployed, scaled out and in, 150 hourly job runs and a few real failures, as ECS sends them (built from events/), some delivered twice, late or out of order.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

mod events;

use events::time;

/// The day (a fixed one, in the past: Datadog points are stamped when sent).
const DAY_START: &str = "2026-11-19T00:00:00Z";
const SERVICES: usize = 50;
const DEPLOYMENTS: usize = 60;
/// Scale-outs, each followed by a scale-in of as many tasks 1–4 hours later.
const SCALINGS: usize = 80;
const REGISTRY: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
/// Service names are `<word>-api` and `<word>-worker`.
const WORDS: &str = "checkout search payments orders catalog basket pricing inventory shipping \
    invoices accounts identity notify reviews media ledger quotes loyalty gateway profile \
    returns tracking coupons reports webhooks";
/// The jobs: name, every how many hours, started by an EventBridge rule (else a schedule).
const JOBS: [(&str, u32, bool); 7] = [
    ("settlement-sync", 1, true),
    ("feed-import", 1, false),
    ("cache-warmer", 1, true),
    ("sitemap-build", 1, false),
    ("fx-rates-sync", 1, true),
    ("usage-rollup", 1, false),
    ("ledger-reconcile", 4, false),
];

/// How a task stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    /// Replaced by a rolling deployment (exit 143 or 0).
    Deployment,
    /// Replaced or scaled in, killed (137) after its 30 s stop timeout.
    KilledAfterTimeout,
    /// Stopped by a scale-in.
    ScaleIn,
    /// A job run that exited 0.
    Job,
    OutOfMemory,
    HealthCheck,
    JobExit1,
    ImagePull,
}

impl Stop {
    pub fn is_failure(self) -> bool {
        self >= Stop::OutOfMemory
    }
}

/// A distinct stopped task.
#[derive(Debug)]
pub struct Stopped {
    pub task_id: String,
    /// Its service or job.
    pub subject: String,
    pub stop: Stop,
    /// It ran (has a `startedAt`).
    pub started: bool,
    pub at: DateTime<Utc>,
    /// Its STOPPED events delivered: the first, a later update, redeliveries.
    pub deliveries: usize,
    /// A later update arrived before the first STOPPED event.
    pub update_first: bool,
}

/// The day: the events in delivery order, and what they are.
#[derive(Default)]
pub struct Day {
    pub events: Vec<Value>,
    pub stops: Vec<Stopped>,
    /// Deployments, each IN_PROGRESS then COMPLETED: (service, deployment id).
    pub deployments: Vec<(String, String)>,
    pub running: usize,
    /// Events delivered a second time (same event id).
    pub duplicates: usize,
    /// Later STOPPED updates of a task (version + 1), and those that arrived first.
    pub updates: usize,
    pub out_of_order: usize,
    /// Events delivered minutes late.
    pub late: usize,
}

impl Day {
    /// The day `seed` makes.
    pub fn generate(seed: u64) -> Day {
        let mut g = Generator {
            rng: Rng(seed),
            start: time(&Value::from(DAY_START)),
            samples: BTreeMap::new(),
            day: Day::default(),
            sent: Vec::new(),
        };
        let mut services = g.services();
        let plans = g.plan();
        for (service, plan) in services.iter_mut().zip(plans) {
            g.live_through(service, plan);
        }
        g.jobs();
        g.finish()
    }

    pub fn failures(&self) -> impl Iterator<Item = &Stopped> {
        self.stops.iter().filter(|s| s.stop.is_failure())
    }

    pub fn count(&self, pick: impl Fn(Stop) -> bool) -> usize {
        self.stops.iter().filter(|s| pick(s.stop)).count()
    }

    /// The generator makes what the test is about: a day's worth, every kind present.
    pub fn assert_shape(&self) {
        assert!(
            (1_000..=1_400).contains(&self.events.len()),
            "{}",
            self.summary()
        );
        assert_eq!(self.count(|s| s == Stop::Job), 148, "{}", self.summary());
        let kinds: std::collections::BTreeSet<Stop> = self.stops.iter().map(|s| s.stop).collect();
        assert_eq!(kinds.len(), 8, "every kind of stop: {kinds:?}");
        assert!(self.duplicates > 0 && self.out_of_order > 0 && self.late > 0);
        assert!(
            self.failures().any(|f| f.update_first),
            "a failure whose update arrives first"
        );
        let (first, last) = (self.stops[0].at, self.stops[self.stops.len() - 1].at);
        assert!(last - first > Duration::hours(23), "{first} to {last}");
    }

    pub fn summary(&self) -> String {
        let stops: BTreeMap<String, usize> = self.stops.iter().fold(BTreeMap::new(), |mut m, s| {
            *m.entry(format!("{:?}", s.stop)).or_default() += 1;
            m
        });
        format!(
            "{} events: {} distinct stopped tasks {stops:?}, {} of them started; {} RUNNING; \
             {} deployments (IN_PROGRESS, COMPLETED); {} duplicates (same event id), {} repeated \
             STOPPED updates ({} arriving before the first), {} events minutes late",
            self.events.len(),
            self.stops.len(),
            self.stops.iter().filter(|s| s.started).count(),
            self.running,
            self.deployments.len(),
            self.duplicates,
            self.updates,
            self.out_of_order,
            self.late
        )
    }
}

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// A time between `from` and `to` seconds, to the millisecond.
    fn secs(&mut self, from: f64, to: f64) -> Duration {
        let span = ((to - from) * 1000.0) as u64;
        Duration::milliseconds((from * 1000.0) as i64 + self.below(span) as i64)
    }

    fn task_id(&mut self) -> String {
        format!("{:016x}{:016x}", self.next(), self.next())
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }

    fn deployment_id(&mut self) -> String {
        format!("ecs-svc/{:019}", self.next() % 10_000_000_000_000_000_000)
    }
}

/// A service and its running tasks.
struct Service {
    name: String,
    /// Its tasks run a `datadog-agent` sidecar.
    sidecar: bool,
    revision: u32,
    deployment: String,
    tasks: Vec<Live>,
}

/// A running task.
struct Live {
    id: String,
    created: DateTime<Utc>,
    started: DateTime<Utc>,
    deployment: String,
    revision: u32,
}

/// What happens to a service.
#[derive(Debug, Clone, Copy)]
enum Act {
    Deploy,
    ScaleOut(usize),
    ScaleIn(usize),
    Fail(Stop),
}

/// Makes the day: the services as they change, the events sent and when each arrives.
struct Generator {
    rng: Rng,
    start: DateTime<Utc>,
    samples: BTreeMap<&'static str, Value>,
    day: Day,
    /// (delivery time, order of sending, event).
    sent: Vec<(DateTime<Utc>, usize, Value)>,
}

impl Generator {
    /// The 50 services as the day begins: 2–5 tasks each, started before it; the `-api`
    /// services run a `datadog-agent` sidecar.
    fn services(&mut self) -> Vec<Service> {
        let mut services = Vec::new();
        for (i, suffix) in ["api", "worker"].iter().enumerate() {
            for word in WORDS.split_whitespace() {
                let deployment = self.rng.deployment_id();
                let revision = 3 + self.rng.below(60) as u32;
                let mut service = Service {
                    name: format!("{word}-{suffix}"),
                    sidecar: i == 0,
                    revision,
                    deployment: deployment.clone(),
                    tasks: Vec::new(),
                };
                for _ in 0..2 + self.rng.below(4) {
                    let created = self.start - self.rng.secs(3_600.0, 5.0 * 86_400.0);
                    let started = created + self.rng.secs(25.0, 35.0);
                    let (id, deployment) = (self.rng.task_id(), deployment.clone());
                    service.tasks.push(Live {
                        id,
                        created,
                        started,
                        deployment,
                        revision,
                    });
                }
                services.push(service);
            }
        }
        services
    }

    /// What happens to each service, in time order: deployments, scale-outs and scale-ins, and
    /// the real failures (out of memory on three services, and again on the first ten hours
    /// later; a failed container health check on a fourth).
    fn plan(&mut self) -> Vec<Vec<(DateTime<Utc>, Act)>> {
        let mut plans: Vec<Vec<(DateTime<Utc>, Act)>> = (0..SERVICES).map(|_| Vec::new()).collect();
        for _ in 0..DEPLOYMENTS {
            let at = self.start + self.rng.secs(0.0, 23.0 * 3_600.0);
            plans[self.rng.below(SERVICES as u64) as usize].push((at, Act::Deploy));
        }
        for _ in 0..SCALINGS {
            let service = self.rng.below(SERVICES as u64) as usize;
            let at = self.start + self.rng.secs(0.0, 19.0 * 3_600.0);
            let tasks = 1 + self.rng.below(3) as usize;
            plans[service].push((at, Act::ScaleOut(tasks)));
            let later = at + self.rng.secs(3_600.0, 4.0 * 3_600.0);
            plans[service].push((later, Act::ScaleIn(tasks)));
        }
        let first = self.rng.below(SERVICES as u64) as usize;
        let failing = [
            (first, 3, Stop::OutOfMemory),
            ((first + 7) % SERVICES, 9, Stop::OutOfMemory),
            ((first + 19) % SERVICES, 14, Stop::HealthCheck),
            ((first + 33) % SERVICES, 17, Stop::OutOfMemory),
            (first, 13, Stop::OutOfMemory),
        ];
        for (service, hour, stop) in failing {
            let at = self.start + Duration::hours(hour) + self.rng.secs(0.0, 3_000.0);
            plans[service].push((at, Act::Fail(stop)));
        }
        for plan in &mut plans {
            plan.sort_by_key(|(at, _)| *at);
        }
        plans
    }

    /// Carries out a service's plan; an act waits for the one before it to end.
    fn live_through(&mut self, service: &mut Service, plan: Vec<(DateTime<Utc>, Act)>) {
        let mut busy_until = self.start;
        for (at, act) in plan {
            let at = at.max(busy_until + Duration::seconds(60));
            busy_until = match act {
                Act::Deploy => self.deploy(service, at),
                Act::ScaleOut(n) => self.scale_out(service, n, at),
                Act::ScaleIn(n) => self.scale_in(service, n, at),
                Act::Fail(stop) => self.fail(service, stop, at),
            };
        }
    }

    /// A rolling deployment: each task replaced by one of the new revision, then COMPLETED.
    fn deploy(&mut self, service: &mut Service, at: DateTime<Utc>) -> DateTime<Utc> {
        let id = self.rng.deployment_id();
        self.deployment_event(&service.name, &id, false, at + Duration::seconds(1));
        service.deployment = id.clone();
        service.revision += 1;
        let mut next = at + self.rng.secs(3.0, 8.0);
        let mut last_stop = at;
        for old in std::mem::take(&mut service.tasks) {
            let new = self.start_task(service, next);
            let stop = if self.rng.one_in(8) {
                Stop::KilledAfterTimeout
            } else {
                Stop::Deployment
            };
            let stopping = new.started + self.rng.secs(8.0, 15.0);
            last_stop = self.stop_service_task(service, &old, stop, stopping);
            service.tasks.push(new);
            next += self.rng.secs(20.0, 60.0);
        }
        let done = last_stop + self.rng.secs(30.0, 90.0);
        self.deployment_event(&service.name, &id, true, done);
        self.day.deployments.push((service.name.clone(), id));
        done
    }

    /// Starts `n` tasks.
    fn scale_out(&mut self, service: &mut Service, n: usize, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut next = at;
        for _ in 0..n {
            let new = self.start_task(service, next);
            next = new.started + self.rng.secs(1.0, 10.0);
            service.tasks.push(new);
        }
        next
    }

    /// Stops the `n` newest tasks (one always stays).
    fn scale_in(&mut self, service: &mut Service, n: usize, at: DateTime<Utc>) -> DateTime<Utc> {
        let mut last = at;
        for _ in 0..n.min(service.tasks.len().saturating_sub(1)) {
            let task = service.tasks.pop().expect("a task");
            let stop = if self.rng.one_in(10) {
                Stop::KilledAfterTimeout
            } else {
                Stop::ScaleIn
            };
            let stopping = at + self.rng.secs(0.0, 5.0);
            last = self.stop_service_task(service, &task, stop, stopping);
        }
        last
    }

    /// A task fails; the service starts another.
    fn fail(&mut self, service: &mut Service, stop: Stop, at: DateTime<Utc>) -> DateTime<Utc> {
        let which = self.rng.below(service.tasks.len() as u64) as usize;
        let task = service.tasks.remove(which);
        let stopped = self.stop_service_task(service, &task, stop, at);
        let created = stopped + self.rng.secs(5.0, 30.0);
        let new = self.start_task(service, created);
        let started = new.started;
        service.tasks.push(new);
        started
    }

    /// The hourly jobs' 150 runs, one exiting 1 and one whose image is not found.
    fn jobs(&mut self) {
        let exits = (self.rng.below(6) as usize, 2 + self.rng.below(9) as u32);
        let pull = ((exits.0 + 3) % 6, 13 + self.rng.below(9) as u32);
        for hour in 0..24 {
            for (j, (job, every, rule)) in JOBS.iter().enumerate() {
                if hour % every != 0 {
                    continue;
                }
                let stop = match (j, hour) {
                    run if run == exits => Stop::JobExit1,
                    run if run == pull => Stop::ImagePull,
                    _ => Stop::Job,
                };
                let at = self.start
                    + Duration::hours(i64::from(hour))
                    + Duration::minutes(3 * j as i64)
                    + self.rng.secs(0.0, 40.0);
                self.job_run(job, *rule, stop, at);
            }
        }
    }

    /// The events in delivery order (the order of sending where two arrive at once).
    fn finish(mut self) -> Day {
        self.sent.sort_by_key(|(at, n, _)| (*at, *n));
        self.day.events = self.sent.into_iter().map(|(_, _, e)| e).collect();
        self.day.stops.sort_by_key(|s| s.at);
        self.day
    }
}
