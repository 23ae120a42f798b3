"""Run gen-source syncs on Temporal: a workflow per sync, a single-writer workflow per table,
one activity per table that heartbeats checkpoints so a retry continues where a dead worker
stopped. Modules: `types` (inputs/results, no secrets), `checkpoint`, `activities`,
`workflows`, `worker`, `client` (submit and follow), `schedules`.

Nothing here is imported by the rest of the runtime: only syncs that use Temporal need the
`temporalio` package.
"""
