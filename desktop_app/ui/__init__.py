"""The Qt user interface. Talks to services only; never to storage or SQL."""
