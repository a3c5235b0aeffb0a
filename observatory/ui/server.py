"""Start the dashboard's Streamlit server: `python -m observatory.ui.server run
streamlit_app.py [options]` (what `observatory demo` and `observatory serve` run).

The page scripts live in `pages/` beside the entry point and are wired with
`st.navigation`. Streamlit treats a `pages/` folder beside the entry point as a
version-1 multipage app until the first `st.navigation` call of the process. The first
deep link to a freshly started server (`/portal`, `/data-health?role=operations`) would
then show "Page not found" over the right page. This launcher turns that mode off before
the server starts.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Streamlit's own command line, with version-1 multipage discovery off."""
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web.cli import main as streamlit_main

    PagesManager.uses_pages_directory = False
    sys.exit(streamlit_main())


if __name__ == "__main__":
    main()
