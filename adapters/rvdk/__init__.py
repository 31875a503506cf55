"""Raad voor de Kinderbescherming: adapter (`adapter.ADAPTER`) and simulator (`simulator.create_app`)."""
