//! The edge to CloudFront: the port the handler depends on ([`CloudFront`]), with two adapters:
//! [`sdk::SdkCloudFront`] over `aws-sdk-cloudfront`, and [`memory::MemoryCloudFront`], an
//! in-memory CloudFront that keeps AWS's rules (statuses, CallerReference, path validation, the
//! in-progress quota) on a clock the caller controls, for fast tests and the storm benchmark.
//!
//! Every operation names a [`TargetId`]: a distribution (`CreateInvalidation`, `GetInvalidation`,
//! `ListInvalidations`) or a distribution tenant (`…ForDistributionTenant`). Adapters pick the
//! operation; nothing above them tells the two apart.

pub mod memory;
pub mod sdk;

use std::time::SystemTime;

use crate::deadline::Instant;
use std::future::Future;

use crate::error::Error;
pub use crate::model::{PathCounts, TargetId};

pub use memory::MemoryCloudFront;
pub use sdk::SdkCloudFront;

/// One CreateInvalidation (or CreateInvalidationForDistributionTenant) request.
#[derive(Debug, Clone, Copy)]
pub struct CreateRequest<'a> {
    pub target: &'a TargetId,
    pub caller_reference: &'a str,
    pub paths: &'a [String],
}

/// An invalidation's status. CloudFront documents `InProgress` and `Completed`; anything else (a
/// stand-in's `COMPLETED` is read as `Completed`) is held as in progress, the safe reading: it
/// still holds quota and is still waited for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
    Other(String),
}

impl Status {
    pub fn parse(s: &str) -> Status {
        if s.eq_ignore_ascii_case("Completed") {
            Status::Completed
        } else if s.eq_ignore_ascii_case("InProgress") {
            Status::InProgress
        } else {
            Status::Other(s.to_string())
        }
    }

    pub fn is_completed(&self) -> bool {
        *self == Status::Completed
    }

    /// AWS's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Status::InProgress => "InProgress",
            Status::Completed => "Completed",
            Status::Other(s) => s,
        }
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What CloudFront says of an invalidation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalidation {
    pub id: String,
    pub status: Status,
    pub paths: Vec<String>,
    pub caller_reference: String,
    /// CloudFront's `CreateTime`.
    pub create_time: SystemTime,
}

/// One entry of ListInvalidations: CloudFront lists summaries only, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidationSummary {
    pub id: String,
    pub status: Status,
    pub create_time: SystemTime,
}

/// One page of ListInvalidations (at most 100 summaries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvalidationPage {
    pub items: Vec<InvalidationSummary>,
    /// The marker of the next page, when there is one.
    pub next_marker: Option<String>,
}

/// The port the handler depends on. Adapters remember nothing between calls: what a container
/// remembers is [`crate::known::Known`], owned by the entry point.
pub trait CloudFront: Send + Sync {
    /// Creates (or, for a repeated CallerReference with the same paths, returns) an invalidation,
    /// giving up by `deadline` so that the invocation still has time to answer.
    fn create_invalidation(
        &self,
        req: CreateRequest<'_>,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<Invalidation, Error>> + Send;

    fn get_invalidation(&self, target: &TargetId, id: &str)
        -> impl Future<Output = Result<Invalidation, Error>> + Send;

    /// One page of a distribution's (or a tenant's own) invalidations, newest first (`marker` from
    /// the previous page).
    fn list_invalidations(
        &self,
        target: &TargetId,
        marker: Option<&str>,
    ) -> impl Future<Output = Result<InvalidationPage, Error>> + Send;
}

/// ListInvalidations read page by page, newest first: the one reader of CloudFront's paging, for
/// every caller that walks a target's list. It reads a page only when asked; the caller stops where
/// its own rule says (it simply asks no more), and [`NewestFirst::marker`] lets a later read carry
/// on from the page it would have read next.
pub struct NewestFirst<'c, C> {
    cf: &'c C,
    target: &'c TargetId,
    marker: Option<String>,
    ended: bool,
}

impl<'c, C: CloudFront> NewestFirst<'c, C> {
    /// From the newest invalidation.
    pub fn new(cf: &'c C, target: &'c TargetId) -> Self {
        NewestFirst::from_marker(cf, target, None)
    }

    /// From the page `marker` names (a [`NewestFirst::marker`] kept from an earlier read), or the
    /// newest with `None`.
    pub fn from_marker(cf: &'c C, target: &'c TargetId, marker: Option<String>) -> Self {
        NewestFirst { cf, target, marker, ended: false }
    }

    /// The next page's summaries, newest first; `None` once the list has ended.
    pub async fn next_page(&mut self) -> Result<Option<Vec<InvalidationSummary>>, Error> {
        if self.ended {
            return Ok(None);
        }
        let page = self.cf.list_invalidations(self.target, self.marker.as_deref()).await?;
        // A next marker equal to the one just used names the page just read: asking for it again
        // would read that page for ever (the CLI's reads have no deadline). CloudFront documents
        // no such answer, so it is an error, never taken as the list's end (which would read as
        // nothing more in progress and nothing more made).
        if page.next_marker.is_some() && page.next_marker == self.marker {
            return Err(Error::CloudFront(format!(
                "ListInvalidations on {} returned the marker it was given ({}): the list does not advance",
                self.target,
                page.next_marker.unwrap_or_default()
            )));
        }
        self.ended = page.next_marker.is_none();
        self.marker = page.next_marker;
        Ok(Some(page.items))
    }

    /// The marker the next page is read with: `None` before the first page of a read from the
    /// newest, and once the list has ended ([`NewestFirst::ended`] tells the two apart).
    pub fn marker(&self) -> Option<&str> {
        self.marker.as_deref()
    }

    /// Whether the last page read was the list's last.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Every summary from here down to the first for which `stop` holds (left out), or to the
    /// list's end.
    pub async fn until(
        mut self,
        mut stop: impl FnMut(&InvalidationSummary) -> bool,
    ) -> Result<Vec<InvalidationSummary>, Error> {
        let mut out = Vec::new();
        while let Some(page) = self.next_page().await? {
            for s in page {
                if stop(&s) {
                    return Ok(out);
                }
                out.push(s);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(d: &str) -> TargetId {
        TargetId::parse(d).unwrap()
    }

    /// Rule: the list is read a page at a time, newest first, to its end; `until` stops before the
    /// first summary its rule names; a kept marker carries a later read on from the page it names,
    /// whatever was made on top since.
    #[tokio::test]
    async fn pages_come_newest_first_and_a_kept_marker_carries_on() {
        let cf = MemoryCloudFront::new(&["E1"]);
        cf.set_completion(|_| 1);
        for n in 0..250u64 {
            let paths = [format!("/p/{n}")];
            cf.create_invalidation(
                CreateRequest { target: &id("E1"), caller_reference: &format!("r{n}"), paths: &paths },
                None,
            )
            .await
            .unwrap();
            cf.advance(1);
        }
        let e1 = id("E1");
        let mut pages = NewestFirst::new(&cf, &e1);
        let mut sizes = Vec::new();
        let mut times = Vec::new();
        while let Some(page) = pages.next_page().await.unwrap() {
            sizes.push(page.len());
            times.extend(page.iter().map(|s| s.create_time));
        }
        assert_eq!(sizes, [100, 100, 50]);
        assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
        assert!(pages.ended() && pages.marker().is_none());
        assert_eq!(pages.next_page().await.unwrap(), None, "nothing after the end");

        // (summaries before the stop, stop below this many seconds)
        for (want, below) in [(0, 250), (1, 249), (150, 100), (250, 0)] {
            let got = NewestFirst::new(&cf, &e1).until(|s| s.create_time < memory::time_of(below)).await.unwrap();
            assert_eq!(got.len(), want, "stop below {below}");
        }

        let mut first = NewestFirst::new(&cf, &e1);
        first.next_page().await.unwrap();
        let kept = first.marker().map(str::to_string);
        assert!(kept.is_some() && !first.ended());
        cf.create_invalidation(
            CreateRequest { target: &id("E1"), caller_reference: "on-top", paths: &["/new".into()] },
            None,
        )
        .await
        .unwrap();
        let rest = NewestFirst::from_marker(&cf, &e1, kept).until(|_| false).await.unwrap();
        assert_eq!(rest.len(), 150, "the 150 below the first page, none twice");
        assert_eq!(rest[0].create_time, memory::time_of(149));
    }

    /// A CloudFront whose list hands back the marker it was given as the next one (a page
    /// repeated), to show how a reader stops on it.
    struct RepeatsMarker(MemoryCloudFront);

    impl CloudFront for RepeatsMarker {
        async fn create_invalidation(&self, req: CreateRequest<'_>, d: Option<Instant>) -> Result<Invalidation, Error> {
            self.0.create_invalidation(req, d).await
        }
        async fn get_invalidation(&self, target: &TargetId, id: &str) -> Result<Invalidation, Error> {
            self.0.get_invalidation(target, id).await
        }
        async fn list_invalidations(&self, target: &TargetId, marker: Option<&str>) -> Result<InvalidationPage, Error> {
            let page = self.0.list_invalidations(target, None).await?;
            Ok(InvalidationPage { items: page.items, next_marker: Some(marker.unwrap_or("M1").to_string()) })
        }
    }

    /// Rule: a marker CloudFront hands back unchanged names the page just read; asking for it
    /// again would read that page for ever (`cfinv room`, `cfinv list` and the CLI's search of
    /// recent invalidations have no deadline), so the read fails there.
    #[tokio::test]
    async fn a_repeated_marker_fails_the_read_instead_of_reading_the_page_again() {
        let cf = RepeatsMarker(MemoryCloudFront::new(&["E1"]));
        cf.create_invalidation(CreateRequest { target: &id("E1"), caller_reference: "r", paths: &["/a".into()] }, None)
            .await
            .unwrap();
        let e1 = id("E1");
        let mut pages = NewestFirst::new(&cf, &e1);
        assert_eq!(pages.next_page().await.unwrap().map(|p| p.len()), Some(1), "the first page");
        let e = pages.next_page().await.unwrap_err();
        assert_eq!(e.error_type(), "CloudFrontError", "{e}");
    }
}
