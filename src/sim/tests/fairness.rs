//! Fairness, counted in turns instead of time: a gzip bomb's decoded output is shared out
//! over the loop's turns like bytes read, so a transfer added while the bomb decodes finishes
//! long before the bomb has handed over its 64 MiB.
//!
//! Moved here from `tests/fairness.rs`, where it depended on how fast a server thread
//! answered while the bomb decoded (and failed on a loaded machine).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::sim::{Peer, Sim};
use crate::{Ctx, Easy, Flow, Handler, TransferId};

const DECODED: u64 = 64 << 20;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The bomb's handler: counts what it is given and, at its first piece, adds a small
/// transfer (which starts after this step).
struct Bomb {
    delivered: Arc<AtomicU64>,
    small: Arc<Mutex<Option<TransferId>>>,
}

impl Handler for Bomb {
    fn write(&mut self, ctx: &mut Ctx<'_>, data: &[u8]) -> Flow {
        let mut small = self.small.lock().unwrap();
        if small.is_none() {
            *small = Some(ctx.add(Easy::new("http://127.0.0.1:80/small").unwrap()));
        }
        self.delivered
            .fetch_add(data.len() as u64, Ordering::Relaxed);
        Flow::Continue
    }
}

#[test]
fn a_decompression_bomb_does_not_hold_the_loop() {
    let mut sim = Sim::new();
    sim.listen(80);
    let delivered = Arc::new(AtomicU64::new(0));
    let small = Arc::new(Mutex::new(None));
    let handler = Bomb {
        delivered: delivered.clone(),
        small: small.clone(),
    };
    let mut e = Easy::with_handler("http://127.0.0.1:80/bomb", handler).unwrap();
    e.accept_encoding(true);
    let bomb = sim.add(e);
    sim.run();
    let mut srv = sim.accept();
    assert_eq!(srv.request().target, "/bomb");
    srv.respond(
        200,
        &[("Content-Encoding", "gzip")],
        &gzip(&vec![0; DECODED as usize]),
    );
    // Turn by turn: answer the small transfer as soon as its request is there.
    let mut small_srv: Option<Peer> = None;
    let mut at_small_done = None;
    for _ in 0..10_000 {
        if !sim.turn() {
            break;
        }
        if small_srv.is_none() {
            small_srv = sim.net.accept();
        }
        if let Some(p) = small_srv.as_mut() {
            if p.read_request().is_some() {
                p.respond(200, &[], b"ok");
            }
        }
        let small_id = *small.lock().unwrap();
        if at_small_done.is_none() && small_id.is_some_and(|id| sim.result(id).is_some()) {
            at_small_done = Some(delivered.load(Ordering::Relaxed));
        }
    }
    let (r, _) = sim.finish(bomb);
    r.unwrap();
    assert_eq!(delivered.load(Ordering::Relaxed), DECODED);
    let at = at_small_done.expect("the small transfer finished");
    let small_id = small.lock().unwrap().unwrap();
    sim.finish(small_id).0.unwrap();
    assert!(
        at < DECODED / 16,
        "the bomb handed over {at} bytes before a transfer added at its start could finish"
    );
}
