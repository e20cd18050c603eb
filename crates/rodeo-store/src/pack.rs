//! A production deployment's first shipments packed into one value: the form both
//! backends keep next to the `first_shipments` rollup (table `first_shipment_packs`, one
//! row per deployment that first shipped anything) so that the organisation-wide
//! metrics read tens of thousands of rows rather than half a million. The packs are
//! derived: each backend rebuilds a deployment's pack from its `first_shipments` rows
//! whenever one of them changes, in the same transaction.
//!
//! The format is private to rodeo and versioned by its first byte. Little-endian:
//!
//! ```text
//! version: u8 = 1, count: u32, then count entries of
//!   committed_at: i64 (µs), author: str, flags: u8 (1 = merged pull request,
//!   2 = its first commit is known), and with flag 1: opened_at: i64, merged_at: i64,
//!   [first_commit_at: i64 with flag 2], pull request author: str
//! str = length: u32, UTF-8 bytes
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use rodeo_domain::{from_micros, ServiceName};
use rodeo_metrics::{FirstShipment, PullRequestShipment, PullRequestTimes};

use crate::StoreError;

const VERSION: u8 = 1;
const MERGED_PULL_REQUEST: u8 = 1;
const FIRST_COMMIT_KNOWN: u8 = 2;

/// One first shipment as a backend reads it from its rollup row, times in µs.
#[derive(Debug, Clone, PartialEq)]
pub struct PackEntry<'a> {
    pub committed_at: i64,
    pub author: &'a str,
    pub pull_request: Option<PackPullRequest<'a>>,
}

/// The merged pull request whose merge commit the entry is.
#[derive(Debug, Clone, PartialEq)]
pub struct PackPullRequest<'a> {
    pub opened_at: i64,
    pub merged_at: i64,
    pub first_commit_at: Option<i64>,
    pub author: &'a str,
}

/// The pack of `entries`, in the order given (backends give commit time order).
pub fn encode<'a>(entries: impl IntoIterator<Item = PackEntry<'a>>) -> Vec<u8> {
    let mut out = vec![VERSION, 0, 0, 0, 0];
    let mut count: u32 = 0;
    for e in entries {
        count += 1;
        out.extend_from_slice(&e.committed_at.to_le_bytes());
        put_str(&mut out, e.author);
        match e.pull_request {
            None => out.push(0),
            Some(pr) => {
                let known = pr.first_commit_at.is_some();
                out.push(MERGED_PULL_REQUEST | if known { FIRST_COMMIT_KNOWN } else { 0 });
                out.extend_from_slice(&pr.opened_at.to_le_bytes());
                out.extend_from_slice(&pr.merged_at.to_le_bytes());
                if let Some(first) = pr.first_commit_at {
                    out.extend_from_slice(&first.to_le_bytes());
                }
                put_str(&mut out, pr.author);
            }
        }
    }
    out[1..5].copy_from_slice(&count.to_le_bytes());
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Names are bounded far below 4 GiB by the API's limits.
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Unpacks packs into the metrics' facts, sharing one `Arc` per author name across
/// every pack it reads (a window holds hundreds of thousands of first shipments by a
/// few hundred authors).
#[derive(Debug, Default)]
pub struct Unpacker {
    authors: HashMap<Box<str>, Arc<str>>,
}

impl Unpacker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the first shipments packed in `bytes` (deployment `deployment_id` of
    /// `service`, finished at `deployed_at` µs) to `firsts`, and its merged pull
    /// requests to `pull_requests`.
    pub fn unpack(
        &mut self,
        service: &Arc<ServiceName>,
        deployment_id: i64,
        deployed_at: i64,
        bytes: &[u8],
        firsts: &mut Vec<FirstShipment>,
        pull_requests: &mut Vec<PullRequestShipment>,
    ) -> Result<(), StoreError> {
        let malformed = || {
            StoreError::Database(
                format!("first-shipment pack of deployment {deployment_id} is malformed").into(),
            )
        };
        let mut r = Reader { bytes };
        if r.u8().ok_or_else(malformed)? != VERSION {
            return Err(malformed());
        }
        let count = r.u32().ok_or_else(malformed)?;
        let deployed = from_micros(deployed_at);
        firsts.reserve(count as usize);
        for _ in 0..count {
            let committed_at = r.i64().ok_or_else(malformed)?;
            let author = self.intern(r.str().ok_or_else(malformed)?);
            let flags = r.u8().ok_or_else(malformed)?;
            if flags & MERGED_PULL_REQUEST != 0 {
                let opened_at = r.i64().ok_or_else(malformed)?;
                let merged_at = r.i64().ok_or_else(malformed)?;
                let first_commit_at = if flags & FIRST_COMMIT_KNOWN != 0 {
                    Some(r.i64().ok_or_else(malformed)?)
                } else {
                    None
                };
                let pr_author = self.intern(r.str().ok_or_else(malformed)?);
                pull_requests.push(PullRequestShipment {
                    service: Arc::clone(service),
                    deployed_at: deployed,
                    times: PullRequestTimes {
                        first_commit_at: first_commit_at.map(from_micros),
                        opened_at: from_micros(opened_at),
                        merged_at: from_micros(merged_at),
                        author: pr_author,
                    },
                });
            }
            firsts.push(FirstShipment {
                service: Arc::clone(service),
                deployment_id,
                deployed_at: deployed,
                committed_at: from_micros(committed_at),
                author,
            });
        }
        if !r.bytes.is_empty() {
            return Err(malformed());
        }
        Ok(())
    }

    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(a) = self.authors.get(name) {
            return Arc::clone(a);
        }
        let a: Arc<str> = Arc::from(name);
        self.authors.insert(name.into(), Arc::clone(&a));
        a
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.bytes.len() < n {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.take(8)?.try_into().ok().map(i64::from_le_bytes)
    }

    fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries() -> Vec<PackEntry<'static>> {
        vec![
            PackEntry {
                committed_at: 1_700_000_000_000_000,
                author: "Ada Lovelace",
                pull_request: None,
            },
            PackEntry {
                committed_at: -5,
                author: "dependabot[bot]",
                pull_request: Some(PackPullRequest {
                    opened_at: 1_700_000_100_000_000,
                    merged_at: 1_700_000_200_000_000,
                    first_commit_at: None,
                    author: "Ada Lovelace",
                }),
            },
            PackEntry {
                committed_at: 1_700_000_300_000_001,
                author: "Grace Hopper ✓",
                pull_request: Some(PackPullRequest {
                    opened_at: 1,
                    merged_at: 2,
                    first_commit_at: Some(0),
                    author: "Grace Hopper ✓",
                }),
            },
        ]
    }

    #[test]
    fn round_trips_entries_and_shares_authors() {
        let bytes = encode(entries());
        let service = Arc::new(ServiceName::parse("api").unwrap());
        let (mut firsts, mut prs) = (Vec::new(), Vec::new());
        let mut u = Unpacker::new();
        u.unpack(
            &service,
            42,
            1_700_000_400_000_000,
            &bytes,
            &mut firsts,
            &mut prs,
        )
        .unwrap();
        assert_eq!(firsts.len(), 3);
        assert!(firsts.iter().all(|f| f.deployment_id == 42
            && f.deployed_at == from_micros(1_700_000_400_000_000)
            && f.service.as_str() == "api"));
        let authors: Vec<&str> = firsts.iter().map(|f| &*f.author).collect();
        assert_eq!(
            authors,
            ["Ada Lovelace", "dependabot[bot]", "Grace Hopper ✓"]
        );
        assert_eq!(firsts[1].committed_at, from_micros(-5));
        assert_eq!(prs.len(), 2);
        assert_eq!(prs[0].times.first_commit_at, None);
        assert_eq!(prs[0].times.merged_at, from_micros(1_700_000_200_000_000));
        assert_eq!(prs[1].times.first_commit_at, Some(from_micros(0)));
        // The pull request's author is the commit author's `Arc`, not a copy.
        assert!(Arc::ptr_eq(&prs[0].times.author, &firsts[0].author));
    }

    #[test]
    fn an_empty_pack_holds_nothing() {
        let bytes = encode(Vec::new());
        let service = Arc::new(ServiceName::parse("api").unwrap());
        let (mut firsts, mut prs) = (Vec::new(), Vec::new());
        Unpacker::new()
            .unpack(&service, 1, 0, &bytes, &mut firsts, &mut prs)
            .unwrap();
        assert!(firsts.is_empty() && prs.is_empty());
    }

    #[test]
    fn refuses_truncated_padded_or_foreign_packs() {
        let bytes = encode(entries());
        let service = Arc::new(ServiceName::parse("api").unwrap());
        let mut u = Unpacker::new();
        let mut bad = vec![bytes[..bytes.len() - 1].to_vec(), bytes.clone(), Vec::new()];
        bad[1].push(0);
        let mut other = bytes.clone();
        other[0] = 2;
        bad.push(other);
        for b in bad {
            let (mut firsts, mut prs) = (Vec::new(), Vec::new());
            let e = u.unpack(&service, 7, 0, &b, &mut firsts, &mut prs);
            assert!(
                matches!(&e, Err(StoreError::Database(m)) if m.to_string().contains("deployment 7")),
                "{e:?}"
            );
        }
    }
}
