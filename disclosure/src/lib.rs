//! Haven's disclosure control: every figure built on the placements register passes through
//! here before it reaches an output. Its core (`table`, `view`, `suppress`, `audit`, `lp`) knows no
//! database and no HTTP: it takes the true personal table and what earlier releases published,
//! and returns which cells to withhold with the audit that proves them protected
//! (docs/disclosure.md). `release` reads and writes the store around it.

pub mod audit;
pub mod lp;
pub mod release;
pub mod suppress;
pub mod table;
pub mod view;

pub use audit::{Audit, Failure, audit};
pub use suppress::{DEFAULT_K, DEFAULT_PROTECTION, MIN_K, Params, protect};
pub use table::{PROGRAMMES, Pattern, Truth, Year, YearPattern};
pub use view::View;
