//! The documented size limits of what crosses a service, in one place: the
//! planner caps shards by them, and the tests below serialize the worst case
//! of every payload a run passes on and assert it fits (moto enforces none of
//! them, so only these tests would catch a payload that outgrows one).

/// Step Functions: "Maximum input or output size for a task, state, or
/// execution: 256 KiB of data as a UTF-8 encoded string" — also the input of
/// `StartExecution` and of a Distributed Map child execution (one item).
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>
pub const STATE_PAYLOAD_MAX_BYTES: usize = 256 * 1024;

/// Lambda: "Invocation payload (request and response): 6 MB each for
/// request and response" of a synchronous invocation (Step Functions'
/// `lambda:invoke` is synchronous). Taken as 6,000,000 bytes, the smaller
/// reading of "MB".
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
pub const LAMBDA_PAYLOAD_MAX_BYTES: usize = 6_000_000;

/// Step Functions: execution names are 1–80 characters, without whitespace,
/// brackets, wildcards, `" # % \ ^ | ~ \` $ & , ; : /` or control characters.
/// <https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html>
pub(crate) const EXECUTION_NAME_MAX_CHARS: usize = 80;

#[cfg(test)]
mod tests;
