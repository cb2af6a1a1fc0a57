/** The page's colours for Chart.js, on its dark background (style.css's --muted for text). */
export const CHART_TEXT = '#8a919e';
export const CHART_GRID = '#262b34';
