"""WTForms forms of the web app (survey forms are built from the instrument)."""
