"""The audit log (审计日志): who did what, in which tenant, when, from where, with what outcome.

``chain`` the per-tenant hash chain; ``log`` the store of one service's entries; ``recording`` what an entry point
records (wired into ``servicekit.messaging.rpc``); ``entries`` the operations identity reads them through.
"""
