"""Streamlit-only helpers shared by the pages: cached loaders, the sidebar, plots and images."""
