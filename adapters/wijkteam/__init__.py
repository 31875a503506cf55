"""Wijkteam (municipal social-team system): adapter (`adapter.ADAPTER`) and simulator (`simulator.create_app`)."""
