"""Monitoring: one pass for cron or a systemd timer that notifies each new problem once, and its recovery once.

- problems.py: what counts as a problem in a fresh check, against the previous pass;
- reports_watch.py: new reports from the saved sources, failure spikes, reports that stopped;
- record.py: what was notified, on disk (durable, locked per domain, an outbox of pending messages);
- message.py: the text of a domain's message; notify.py: sending it through apprise;
- run.py: the pass; schedule.py: the systemd units and crontab line step 6 shows.

Codes of monitoring's own (not findings of `check`, so not in wizard.findings.CODES; they appear
in `monitor --json` next to the finding codes of CONTRACT.md):

- `monitor-mx-changed` (error and urgent in enforce mode, warning otherwise; info when the policy
  covers the new set): the MX set changed since the last pass and the policy misses a new host;
- `monitor-cert-expiring` (warning): the certificate of the policy host or of an MX expires
  within 21, 7 or 1 day(s);
- `monitor-failure-spike` (warning): the failure rate in the reports of the last day is well
  above the domain's usual rate;
- `monitor-reports-stopped` (warning): reports had been arriving, and none came for 3 days;
- `monitor-report-fetch-failed` (warning): a saved report source (folder, IMAP) could not be read.
"""

from __future__ import annotations
