"""Regional monitoring / action research: adapter (`adapter.ADAPTER`) and simulator (`simulator.create_app`)."""
