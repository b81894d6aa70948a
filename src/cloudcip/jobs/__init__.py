"""Background work: the webhook outbox and the periodic job runner (A4, A6, D4).

``webhooks`` holds the outbox (``enqueue`` in the caller's transaction, ``deliver_due`` signed with
the Standard Webhooks scheme); ``runner`` holds ``JobRunner`` and the delivery task
(``cloudcip.runtime.default_tasks`` lists the tasks every process runs).
"""
