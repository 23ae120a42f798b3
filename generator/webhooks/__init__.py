"""spec + overrides -> the webhook plan: which events change which tables, how they are signed,
and whether the connector can manage its own subscription.

From the spec (`spec.py`): OpenAPI 3.1 `webhooks` and operation `callbacks` give event types and
payload schemas. An event type's object type is the type minus its action
(`fine_tuning.job.succeeded` -> `fine_tuning.job`), matched to the table whose path ends in those
words (`/fine_tuning/jobs`). Endpoints that create, list and delete subscriptions (a collection
path named like `webhooks`) become `create_webhook`/`delete_webhook`/`get_external_webhook_info`.
Where a spec is silent, the `webhooks:` section of `overrides/<source>.yaml` declares it
(`overrides.py`: validated, merged over the spec's findings key by key; see docs/webhooks.md).
`plan.py` puts these together; `render.py` prints the plan as `generated/<source>/webhooks.py`.
The data types are in `model.py`. Every decision carries a `why`.

Import from the modules themselves: this package imports none of them, so
`generator/plan.py` can hold a `WebhookPlan` (`model.py`) without importing the
planning that reads plans.
"""
