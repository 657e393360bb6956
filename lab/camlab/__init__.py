"""The simulated camera network: personas as data, one asyncio server, a namespace or loopback lab."""
