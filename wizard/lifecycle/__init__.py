"""Step 6: judging readiness for enforce, and changing a live policy in the order that keeps mail flowing.

- readiness.py: the verdict (ready / not-yet / blocked) over state, reports, a fresh check and the time;
- switch.py: the ordered update (file first, then id; SPEC §5, RFC 8461 §8.1) for enforce, the
  max_age ladder, rollback and removal;
- mx_change.py: adding MX patterns before MX records; removal.py: the countdown before deleting records;
- drift.py: served policy or id out of step with the saved state;
- causes.py / evidence.py: failures by cause with their fixes, from reports and checks.

No Textual here: the step 6 screen and the `check` / `status` commands only display these results.
"""

from __future__ import annotations
