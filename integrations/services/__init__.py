"""The only code that writes integrations' tables: its pages, its admin, `events` and `reporting`
call these.

- `apps`: creating apps, their server API keys.
- `setup`: the marketplace's "Set up integration" and the Integration tab (activation rules,
  needs-attention).
- `mapping`: postback mapping rules, default rows, replacing an integration's rows, seen event
  names.
- `links`: attribution link parameters, click and impression links.
- `grants`: what a partner's users may see and do.
- `cost_connections`: TikTok ad accounts for cost data and the bookkeeping of their pulls.
- `ad_revenue`: the ad revenue settings.
- `deliveries`: what `events` records about deliveries (needs attention, last outcome, match keys).
- `audit`: the integration's history.
"""
