//! Commands from other threads, applied at the loop's next turn: `add` returns the transfer's
//! id at once and the multi's messages and calls know it by that id; pause, unpause and
//! remove (cancel) by id; a command for a finished or unknown transfer is dropped and
//! counted, never a panic.

use crate::ctx::Direction;
use crate::sim::Sim;
use crate::{Easy, ErrorKind, Ready, SOCKET_TIMEOUT};

/// A turn of the multi, as the command channel's wakeup gives one.
fn wake(sim: &mut Sim) {
    sim.multi
        .socket_action(SOCKET_TIMEOUT, Ready::NONE)
        .expect("socket_action");
    sim.run();
}

#[test]
fn an_added_transfer_is_known_by_the_id_add_returned() {
    let mut sim = Sim::new();
    sim.listen(80);
    let sender = sim.multi.command_sender();
    let id = sender
        .add(Easy::new("http://127.0.0.1:80/").unwrap())
        .unwrap();
    // Paused before the loop has even taken it in: applied in order, after the add.
    sender.pause(id, Direction::Recv).unwrap();
    wake(&mut sim);
    assert!(
        sim.multi.info(id).is_some(),
        "the multi knows the sender's id"
    );
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[], b"held back");
    sim.run();
    assert!(sim.result(id).is_none(), "paused: not finished");
    assert!(srv.unread_by_client() > 0, "nothing read while paused");
    sender.unpause(id, Direction::Recv).unwrap();
    wake(&mut sim);
    let (r, easy) = sim.finish(id);
    r.unwrap();
    assert_eq!(easy.collected().unwrap().body, b"held back");
    assert_eq!(sim.multi.dropped_commands(), 0);
}

#[test]
fn remove_cancels_and_leaves_the_easy_to_the_loop() {
    let mut sim = Sim::new();
    sim.listen(80);
    let sender = sim.multi.command_sender();
    let id = sender
        .add(Easy::new("http://127.0.0.1:80/").unwrap())
        .unwrap();
    wake(&mut sim);
    let mut srv = sim.accept();
    srv.request();
    sender.remove(id).unwrap();
    wake(&mut sim);
    let err = sim
        .result(id)
        .expect("a completion message")
        .as_ref()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert!(srv.client_closed(), "its connection is closed");
    let (_, easy) = sim.finish(id);
    assert!(easy.collected().unwrap().body.is_empty());
    assert_eq!(sim.multi.dropped_commands(), 0);
}

#[test]
fn commands_for_finished_or_unknown_transfers_are_counted() {
    let mut sim = Sim::new();
    sim.listen(80);
    let sender = sim.multi.command_sender();
    let id = sender
        .add(Easy::new("http://127.0.0.1:80/").unwrap())
        .unwrap();
    wake(&mut sim);
    let mut srv = sim.accept();
    srv.request();
    srv.respond(200, &[], b"done");
    sim.run();
    sim.result(id).unwrap().as_ref().unwrap();
    // Finished, still in the multi: each command is dropped.
    sender.pause(id, Direction::Both).unwrap();
    sender.unpause(id, Direction::Both).unwrap();
    sender.remove(id).unwrap();
    wake(&mut sim);
    assert_eq!(sim.multi.dropped_commands(), 3);
    assert!(
        sim.result(id).unwrap().is_ok(),
        "a finished transfer is left as it was"
    );
    // Gone from the multi: dropped too.
    sim.finish(id).0.unwrap();
    sender.remove(id).unwrap();
    sender.send_ws(id, b"x".to_vec(), crate::ws::TEXT).unwrap();
    wake(&mut sim);
    assert_eq!(sim.multi.dropped_commands(), 5);
}
