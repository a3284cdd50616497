//! What the measuring tools share: [`synthetic`], a deterministic site and the largest SQS batch
//! Lambda delivers. The tools themselves are the binaries `storm` (deploys that keep coming,
//! through the real handler on a simulated clock) and `gen_events` (large events for `cfinv
//! plan`), and the Criterion benchmark `throughput`.

pub mod synthetic;
