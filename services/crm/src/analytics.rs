//! The analytics: pure functions over the facts the read model keeps (no I/O, no clock;
//! "now" comes in). Every definition is written out in docs/KPIS.md; each function points
//! at its section there.
//!
//! - `facts`: what the read model knows per order, complaint and survey.
//! - `policy`: the report currency, the cost model, the lifecycle window.
//! - `profit`: a customer's money totals and profit contribution.
//! - `abc`: the ABC classes by profit contribution, with the shares found.
//! - `lifecycle`: prospect / active / lapsed.
//! - `kpi`: the service-quality KPIs over a set of orders and complaints.
//! - `operations`: stock accuracy from cycle counts, route adherence and ETA error.

pub mod abc;
pub mod facts;
pub mod kpi;
pub mod lifecycle;
pub mod operations;
pub mod policy;
pub mod profit;

pub use abc::{AbcClass, AbcReport};
pub use facts::{ComplaintFacts, OrderFacts, SurveyFacts};
pub use kpi::{Kpis, LeadTime, Period, Rate};
pub use lifecycle::LifecycleClass;
pub use operations::{PlannedStopFacts, ZoneCountFacts};
pub use policy::{CostModel, Policy};
pub use profit::Totals;
