"""Serving a class: several app processes behind HAProxy, with session affinity, on one data home.

``python -m serve`` starts one ``streamlit run app.py`` per CPU core on 127.0.0.1 and HAProxy in front
of them. HAProxy inserts a cookie on a browser's first response that names the process it reached,
so everything a session does afterwards (its websocket ``/_stcore/stream``, its uploads, its media
requests) reaches the same process, where its Streamlit session lives. The processes share one
``$VAE_EXPLORER_HOME``; vae_core writes there atomically and under file locks (vae_core.store.locks).

This package is not part of the app (app.py never imports it) and vae_core does not import it.
"""
