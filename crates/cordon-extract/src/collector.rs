//! wip
use crate::{Extraction, Limits};
pub(crate) struct Collector<'l> { #[allow(dead_code)] limits: &'l Limits, out: Extraction }
impl<'l> Collector<'l> {
    pub(crate) fn new(limits: &'l Limits, n: usize) -> Self { Collector { limits, out: Extraction { message_bytes: n, ..Default::default() } } }
    pub(crate) fn top_level_message(&mut self, _m: &[u8]) {}
    pub(crate) fn finish(self) -> Extraction { self.out }
}
