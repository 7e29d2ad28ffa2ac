"""The evaluation harness: the paper's protocols as typed results (`protocols`), the runs behind a
report (`experiments`), clip-paired tests between models (`paired`) and the Markdown report
(`report`). It reads data sets (`qamoe.data`) and runs the core; nothing in the core imports it."""
