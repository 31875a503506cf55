"""Policy versions that privacy officers own: signed bundles in the database, four-eyes activation, hot reload,
and the pages and commands that drive them."""
