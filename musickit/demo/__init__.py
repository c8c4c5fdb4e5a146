"""``musickit demo``: a Streamlit page to generate, hear, see and download music from any run folder.

The page (:mod:`musickit.demo.app`) holds no model logic: it reads a run
folder (:mod:`musickit.demo.runs`), shows the controls the run's family
supports (:mod:`musickit.demo.controls`) and asks one adapter,
:func:`musickit.demo.generation.generate`, for pieces. The modules here import
nothing heavy; Streamlit is needed only by the page itself.

Example::

    pip install -e ".[demo]"
    musickit demo --run runs/piano_roll_lstm
"""
