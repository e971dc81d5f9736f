"""The aiohttp shell: thin handlers around the pure core and the services."""
