"""Cases: queues, cases, interactions per channel, messages, attachments, SLAs, CSAT (issue 5).

Owns the helpdesk's work items. Channels feed it through the ingest contract of
``cases.services`` (decision 0006); the agent console, the API and the KPI selectors read it
through ``cases.selectors``, which enforce split access (R-WORK-4).
"""
