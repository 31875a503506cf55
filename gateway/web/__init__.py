"""Web pages for privacy officers and DPOs: human accounts, sessions, CSRF, security headers, admin audit trail."""
