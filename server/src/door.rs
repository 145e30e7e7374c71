//! The door (SESS-8): how many connections the server holds open, in all
//! and per address, decided at accept before any task is spawned. Pure:
//! the shell asks [`Door::admit`] with the peer's address and keeps the
//! [`Pass`] for as long as the connection's tasks live; dropping the pass
//! frees the slot.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// The address a per-address limit counts by: an IPv4 address, or the /64
/// prefix of an IPv6 one; an IPv4-mapped IPv6 address is its IPv4 address.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// The counts behind the door.
#[derive(Debug)]
struct Counts {
    connections_max: usize,
    /// 0: no per-address limit.
    address_max: usize,
    open: usize,
    /// Open connections per [`address_key`]; no entry at zero, so the map
    /// holds at most `connections_max` keys.
    by_address: BTreeMap<IpAddr, usize>,
}

/// The door of one server: shared by the accept loop and every pass.
#[derive(Clone, Debug)]
pub struct Door(Arc<Mutex<Counts>>);

/// One admitted connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Pass {
    door: Door,
    key: IpAddr,
}

impl Door {
    /// A door for `connections_max` connections in all and
    /// `address_max` per address (0: no per-address limit).
    pub fn new(connections_max: usize, address_max: usize) -> Door {
        Door(Arc::new(Mutex::new(Counts {
            connections_max,
            address_max,
            open: 0,
            by_address: BTreeMap::new(),
        })))
    }

    fn counts(&self) -> MutexGuard<'_, Counts> {
        // Nothing panics while the lock is held, so even a poisoned lock
        // holds consistent counts.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A pass for a connection from `ip`, or `None` when the server holds
    /// `connections_max` connections, or `address_max` from that address.
    pub fn admit(&self, ip: IpAddr) -> Option<Pass> {
        let key = address_key(ip);
        let mut c = self.counts();
        let from_here = c.by_address.get(&key).copied().unwrap_or(0);
        if c.open >= c.connections_max || (c.address_max > 0 && from_here >= c.address_max) {
            return None;
        }
        c.open += 1;
        c.by_address.insert(key, from_here + 1);
        drop(c);
        Some(Pass {
            door: self.clone(),
            key,
        })
    }

    /// Connections held open now.
    pub fn open(&self) -> usize {
        self.counts().open
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut c = self.door.counts();
        c.open = c.open.saturating_sub(1);
        if let Some(n) = c.by_address.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                c.by_address.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
    }

    // SESS-8: the total and the per-address limit, and a freed slot.
    #[test]
    fn sess_8_door_counts_in_all_and_per_address() {
        let door = Door::new(4, 2);
        let a1 = door.admit(v4(1)).expect("first from .1");
        let a2 = door.admit(v4(1)).expect("second from .1");
        assert!(door.admit(v4(1)).is_none(), "a third from .1 is refused");
        let b1 = door.admit(v4(2)).expect("another address gets in");
        let _b2 = door.admit(v4(2)).expect("second from .2");
        assert!(door.admit(v4(3)).is_none(), "four open: full for everyone");
        drop(a1);
        assert_eq!(door.open(), 3);
        let _c1 = door.admit(v4(3)).expect("a freed slot is taken");
        drop((a2, b1));
        let _a3 = door.admit(v4(1)).expect(".1 has room again");
        assert_eq!(door.open(), 3);
    }

    // SESS-8: 0 turns the per-address limit off; the total still holds.
    #[test]
    fn sess_8_no_address_limit_at_zero() {
        let door = Door::new(3, 0);
        let passes: Vec<Pass> = (0..3).filter_map(|_| door.admit(v4(1))).collect();
        assert_eq!(passes.len(), 3);
        assert!(door.admit(v4(2)).is_none());
    }

    // SESS-8: an IPv6 /64 is one address; a mapped IPv4 is its IPv4.
    #[test]
    fn sess_8_address_keys() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("literal");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("literal");
        let c: IpAddr = "2001:db8:1:3::1".parse().expect("literal");
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("literal");
        assert_eq!(address_key(mapped), v4(7));
        let door = Door::new(10, 1);
        let _p = door.admit(a).expect("first of the /64");
        assert!(door.admit(b).is_none(), "same /64");
        assert!(door.admit(c).is_some(), "another /64");
    }
}
