"""The investigator's workspace: server-rendered pages under /workspace (sign in with a token, worklists, a case
with its reasons and signals, an outcome form), authenticated by a session cookie and guarded by CSRF tokens."""
