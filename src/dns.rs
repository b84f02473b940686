//! Name resolution that never blocks the loop.
//!
//! `getaddrinfo` blocks, so lookups run on a small pool of worker threads. A job goes to the
//! workers over a crossbeam channel; the answer comes back on another channel and the worker
//! wakes the multi's `mio::Poll` through its [`mio::Waker`]. IP literals and `localhost` are
//! answered inline, and answers are cached for [`DNS_CACHE_TTL`] (curl's default of 60 s) in a
//! cache of at most [`DNS_CACHE_MAX`] entries.
//!
//! Cancellation: `getaddrinfo` cannot be interrupted. A result whose requester is gone is simply
//! dropped on arrival (the requester id carries a generation). Dropping the resolver drops the
//! job sender; workers exit after their current lookup. Nothing joins them, so a stuck lookup
//! never hangs a drop (curl's `QUICK_EXIT`).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender};

/// How long a resolved name stays cached (curl: `CURLOPT_DNS_CACHE_TIMEOUT`, default 60 s).
pub const DNS_CACHE_TTL: Duration = Duration::from_secs(60);
/// Most names kept in the cache; the oldest entry is dropped beyond this.
pub const DNS_CACHE_MAX: usize = 1024;
/// Default number of resolver threads (curl: `CURLMOPT_MAX_HOST_CONNECTIONS` has no analogue;
/// this plays the role of its threaded resolver's pool).
pub const DNS_THREADS: usize = 4;

/// Addresses for a host, or the lookup failure.
pub(crate) type Answer = Result<Arc<[SocketAddr]>, String>;

struct Job {
    host: String,
    port: u16,
    requester: u64,
}

struct Done {
    host: String,
    port: u16,
    requester: u64,
    answer: Answer,
}

/// When a name was resolved, and to what.
type Cached = (Instant, Arc<[SocketAddr]>);

pub(crate) struct Resolver {
    jobs: Sender<Job>,
    jobs_rx: Receiver<Job>,
    results: Receiver<Done>,
    results_tx: Sender<Done>,
    waker: Arc<mio::Waker>,
    threads: usize,
    spawned: usize,
    in_flight: usize,
    cache: HashMap<(String, u16), Cached>,
}

impl Resolver {
    pub(crate) fn new(waker: Arc<mio::Waker>, threads: usize) -> Self {
        let (results_tx, results) = unbounded();
        let (jobs, jobs_rx) = unbounded();
        Resolver {
            jobs,
            jobs_rx,
            results,
            results_tx,
            waker,
            threads: threads.max(1),
            spawned: 0,
            in_flight: 0,
            cache: HashMap::new(),
        }
    }

    /// Answer inline when possible (IP literal, localhost, cache hit); otherwise queue a lookup
    /// for `requester` and return `None`; its answer comes from [`Resolver::drain`].
    pub(crate) fn resolve(
        &mut self,
        host: &str,
        port: u16,
        requester: u64,
        now: Instant,
        max_age: Option<Duration>,
    ) -> Option<Answer> {
        if let Some(addrs) = literal(host, port) {
            return Some(Ok(addrs));
        }
        let key = (host.to_ascii_lowercase(), port);
        if let Some((at, addrs)) = self.cache.get(&key) {
            // `max_age`: the requester's CURLOPT_DNS_CACHE_TIMEOUT (`None`: forever).
            if max_age.is_none_or(|m| now.saturating_duration_since(*at) < m) {
                return Some(Ok(addrs.clone()));
            }
        }
        let job = Job {
            host: key.0,
            port,
            requester,
        };
        if self.jobs.send(job).is_err() {
            return Some(Err("resolver queue closed".into()));
        }
        self.in_flight += 1;
        // Workers start lazily, one per concurrent lookup up to the cap: a multi that only
        // talks to IP literals never starts a thread.
        if self.spawned < self.threads && self.in_flight > self.spawned {
            self.spawn_worker();
        }
        if self.spawned == 0 {
            return Some(Err("could not start a resolver thread".into()));
        }
        None
    }

    /// Take every finished lookup: `(requester, answer)`. Successful answers are cached.
    /// Whether a lookup sent has not been answered yet (checked every turn).
    #[inline]
    pub(crate) fn waiting(&self) -> bool {
        self.in_flight > 0
    }

    pub(crate) fn drain(&mut self, now: Instant, mut f: impl FnMut(u64, Answer)) {
        if self.in_flight == 0 {
            // Every lookup sent has been answered: nothing to look for (the common case,
            // checked every turn).
            return;
        }
        while let Ok(done) = self.results.try_recv() {
            self.in_flight = self.in_flight.saturating_sub(1);
            if let Ok(addrs) = &done.answer {
                if self.cache.len() >= DNS_CACHE_MAX {
                    self.evict_oldest();
                }
                self.cache
                    .insert((done.host, done.port), (now, addrs.clone()));
            }
            f(done.requester, done.answer);
        }
    }

    fn evict_oldest(&mut self) {
        if let Some(k) = self
            .cache
            .iter()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(k, _)| k.clone())
        {
            self.cache.remove(&k);
        }
    }

    fn spawn_worker(&mut self) {
        let rx = self.jobs_rx.clone();
        let results = self.results_tx.clone();
        let waker = self.waker.clone();
        let spawned = std::thread::Builder::new()
            .name("curlew-dns".into())
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    let answer = lookup(&job.host, job.port);
                    let done = Done {
                        host: job.host,
                        port: job.port,
                        requester: job.requester,
                        answer,
                    };
                    if results.send(done).is_err() {
                        break;
                    }
                    let _ = waker.wake();
                }
            });
        if spawned.is_ok() {
            self.spawned += 1;
        }
    }
}

impl Drop for Resolver {
    fn drop(&mut self) {
        // Workers block in `recv` on a channel whose senders are `self.jobs` only; replacing it
        // disconnects them once their current lookup ends. The receiver clone we hold does not
        // keep them alive (only senders do).
        let (tx, _) = unbounded();
        self.jobs = tx;
    }
}

fn lookup(host: &str, port: u16) -> Answer {
    match (host, port).to_socket_addrs() {
        Ok(it) => {
            let mut v: Vec<SocketAddr> = it.collect();
            if v.is_empty() {
                return Err(format!("{host}: no addresses"));
            }
            // Interleave families (RFC 8305 §4) so a dead family costs one attempt at a time.
            let (v6, v4): (Vec<_>, Vec<_>) = v.drain(..).partition(|a| a.is_ipv6());
            let mut out = Vec::with_capacity(v6.len() + v4.len());
            let (mut a, mut b) = (v6.into_iter(), v4.into_iter());
            loop {
                match (a.next(), b.next()) {
                    (None, None) => break,
                    (x, y) => out.extend(x.into_iter().chain(y)),
                }
            }
            Ok(out.into())
        }
        Err(e) => Err(format!("{host}: {e}")),
    }
}

/// IP literals and `localhost` resolve without a thread.
fn literal(host: &str, port: u16) -> Option<Arc<[SocketAddr]>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Some(Arc::from([SocketAddr::new(ip, port)]));
    }
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.eq_ignore_ascii_case("localhost") || h.to_ascii_lowercase().ends_with(".localhost") {
        // RFC 6761 §6.3: localhost is loopback, never sent to DNS.
        return Some(Arc::from([
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port),
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), port),
        ]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> (mio::Poll, Resolver) {
        let poll = mio::Poll::new().unwrap();
        let waker = Arc::new(mio::Waker::new(poll.registry(), mio::Token(0)).unwrap());
        (poll, Resolver::new(waker, 2))
    }

    #[test]
    fn literals_skip_threads() {
        let (_p, mut r) = resolver();
        let now = Instant::now();
        let a = r.resolve("127.0.0.1", 80, 1, now, None).unwrap().unwrap();
        assert_eq!(&a[..], &["127.0.0.1:80".parse().unwrap()]);
        let a = r.resolve("::1", 81, 1, now, None).unwrap().unwrap();
        assert_eq!(a[0].port(), 81);
        let a = r.resolve("LocalHost", 82, 1, now, None).unwrap().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(r.spawned, 0);
    }

    #[test]
    fn threaded_lookup_wakes_and_caches() {
        let (mut p, mut r) = resolver();
        let now = Instant::now();
        // A name that needs getaddrinfo but is answered from /etc/hosts on any machine.
        let name = "ip6-localhost-not-a-real-name.invalid";
        assert!(r.resolve(name, 80, 7, now, None).is_none());
        let mut events = mio::Events::with_capacity(4);
        let mut got = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.is_none() && Instant::now() < deadline {
            p.poll(&mut events, Some(Duration::from_millis(100)))
                .unwrap();
            r.drain(now, |id, a| got = Some((id, a)));
        }
        let (id, answer) = got.expect("resolver answered");
        assert_eq!(id, 7);
        assert!(answer.is_err(), ".invalid never resolves (RFC 6761)");
        assert_eq!(r.in_flight, 0);
    }

    #[test]
    fn cache_serves_within_ttl() {
        let (_p, mut r) = resolver();
        let now = Instant::now();
        let addrs: Arc<[SocketAddr]> = Arc::from(["10.0.0.1:80".parse::<SocketAddr>().unwrap()]);
        r.cache.insert(("cached.test".into(), 80), (now, addrs));
        let ttl = Some(DNS_CACHE_TTL);
        assert!(r.resolve("CACHED.test", 80, 1, now, ttl).unwrap().is_ok());
        let later = now + DNS_CACHE_TTL + Duration::from_secs(1);
        assert!(
            r.resolve("cached.test", 80, 1, later, None).is_some(),
            "forever"
        );
        assert!(
            r.resolve("cached.test", 80, 1, later, ttl).is_none(),
            "stale"
        );
        assert!(
            r.resolve("cached.test", 80, 1, now, Some(Duration::ZERO))
                .is_none(),
            "0: no caching"
        );
    }
}
