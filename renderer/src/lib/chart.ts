/** uPlot axis colours on the app's dark panels (LineChart, CompareChart). */
export const chartAxis = { stroke: '#9aa1ac', grid: { stroke: '#2a2e35' }, ticks: { stroke: '#333842' } };
