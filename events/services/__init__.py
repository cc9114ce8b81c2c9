"""Domain operations on what apps and websites send us. Views and tasks call these.

- `ingest.record_events`: validate, attribute and store a batch of events in one transaction.
- `installs.record_install`, `installs.record_visit`: first opens, first web visits,
  re-engagements.
- `touchpoints.record_touchpoint`: clicks and impressions from attribution links.
- `forwarding.plan_postbacks_for_events` / `plan_postbacks_for_install`: the seam, inside the
  ingestion transaction, where postbacks are planned.
"""
