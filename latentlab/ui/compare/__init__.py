"""The Compare window (`window.CompareWindow`): models side by side, one column each (`columns`),
chosen in `chooser.ModelChooser`; what they decode is `latentlab.explorer.compare_decodes`."""
