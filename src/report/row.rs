//! One CSV row of a streamed file, its fields written one after the other into a buffer kept from row to row:
//! half a million pods' rows then cost no allocation each, and the writer sees the same field text as before.

use std::fmt::{self, Display, Write};

use crate::sim::time::SimTime;

/// A row's fields: their text end to end, and where each ends.
#[derive(Debug, Default)]
pub(super) struct Row {
    text: String,
    ends: Vec<usize>,
}

impl Row {
    /// Starts a new row, dropping the last one's fields but keeping the buffers.
    pub(super) fn start(&mut self) -> &mut Self {
        self.text.clear();
        self.ends.clear();
        self
    }

    /// Appends a field: `v` as `Display` writes it.
    pub(super) fn field(&mut self, v: impl Display) -> &mut Self {
        write!(self.text, "{v}").expect("formatting into a String");
        self.ends.push(self.text.len());
        self
    }

    /// Appends `v`'s field, or an empty one.
    pub(super) fn opt(&mut self, v: Option<impl Display>) -> &mut Self {
        match v {
            Some(v) => self.field(v),
            None => self.field(""),
        }
    }

    /// The fields, in order.
    pub(super) fn fields(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(s, &e)| &self.text[s..e])
    }
}

/// `us` microseconds in units of `per` microseconds (10^k), with k decimals: integer arithmetic gives the digits
/// `{:.k}` of the float would (any run's microseconds are far inside f64's exact range) without float
/// formatting, which dominated writing pods.csv.
#[derive(Clone, Copy, Debug)]
pub(super) struct Micros {
    pub us: u64,
    pub per: u64,
}

impl Micros {
    /// A time as seconds with six decimals.
    pub(super) fn secs(t: SimTime) -> Micros {
        Micros {
            us: t.0,
            per: 1_000_000,
        }
    }
}

impl Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let decimals = self.per.ilog10() as usize;
        write!(
            f,
            "{}.{:0decimals$}",
            self.us / self.per,
            self.us % self.per
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_come_back_as_written_empty_ones_included() {
        let mut row = Row::default();
        row.start().field(7).opt(None::<u32>).field("a,b");
        assert_eq!(row.fields().collect::<Vec<_>>(), ["7", "", "a,b"]);
        row.start().opt(Some("x"));
        assert_eq!(row.fields().collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn micros_give_the_float_formatting_digits() {
        for us in [0, 1, 999_999, 1_000_000, 86_400_123_456] {
            let t = Micros::secs(SimTime(us)).to_string();
            assert_eq!(t, format!("{:.6}", us as f64 / 1e6));
        }
        let ms = Micros {
            us: 30_073,
            per: 1_000,
        }
        .to_string();
        assert_eq!(ms, "30.073");
    }
}
