// Kernels of the generative label model's EM (core/weak/label-model.ts). The model's rows are a
// sparse list per row of (class, cell) entries, one per group the row votes in; each EM iteration
// visits every entry twice (the M-step's sums and the E-step's scores), which on 100k rows ×
// 500 LFs is most of the fit's time in JavaScript. Here the rows are split over the thread pool.
#pragma once

namespace loupe {

struct LabelModelShape {
  long used;     // rows with a vote or a known class (the list `used`)
  long rows;     // all rows (q has rows × classes)
  long classes;  // k
  long cells;    // (group, level) cells
  long entries;  // (row, group) entries
};

// M-step sums, overwriting the outputs: for every used row i and class c, class_total[c] += q[i, c];
// per entry (class c, cell o) of row i, mass_in[o] += q[i, c] and mass_out[o] += 1 − q[i, c]. With
// abstain_per_class, also none_in[c] += q[i, c] and none_out[c] += 1 − q[i, c] for every class c
// none of whose groups the row votes in (none_in/none_out are ignored otherwise).
void label_model_sums(const LabelModelShape& s, const int* used, const float* q, const int* row_start,
                      const int* entry_class, const int* entry_cell, bool abstain_per_class, double* mass_in,
                      double* mass_out, double* class_total, double* none_in, double* none_out);

// E-step: for every used row i not known (known[i] < 0, or known null), score[c] = base[c] plus
// term[cell] of each entry on its class (with abstain_per_class, minus abstain[c] once for each
// class with an entry), then q[i, ·] = softmax(score). base[c] = −∞ gives the class 0.
void label_model_posteriors(const LabelModelShape& s, const int* used, const int* known, const int* row_start,
                            const int* entry_class, const int* entry_cell, const double* base, const double* term,
                            const double* abstain, bool abstain_per_class, float* q);

}  // namespace loupe
