"""Gecertificeerde Instelling: adapter (`adapter.ADAPTER`) and simulator (`simulator.create_app`)."""
