// MathJax 3 configuration for pymdownx.arithmatex in "generic" mode.
// arithmatex wraps inline math as \( ... \) and display math as \[ ... \] inside
// elements of class "arithmatex"; MathJax typesets only those elements.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex"
  }
};
