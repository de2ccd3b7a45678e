"""Entry point: apply the fixes, then hand over to Rasa's command line."""
from rasa_server.fixes import apply_fixes

if __name__ == "__main__":
    apply_fixes()
    from rasa.__main__ import main

    main()
