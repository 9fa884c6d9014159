// Package bo is CLINK's Bayesian optimiser: it suggests the next batch of culture conditions
// from the results so far, and benchmarks itself on published test problems.
//
// Suggest is the entry point. It fits one Gaussian process (package gp) per modelled outcome
// (objectives and constrained outcomes), then picks a batch of q points one at a time
// (sequential greedy), each maximising a log acquisition function:
//
//   - one objective: noisy expected improvement (Letham et al. 2019, Bayesian Analysis 14:495,
//     "Constrained Bayesian optimization with noisy experiments"), computed in log space
//     (LogNEI) with the numerically stable log h(z) of Ament et al. 2023 (NeurIPS, "Unexpected
//     improvements to expected improvement for Bayesian optimization");
//   - two objectives: noisy expected hypervolume improvement (the idea of qNEHVI, Daulton et
//     al. 2021, NeurIPS), with the exact two-dimensional EHVI of each fantasy evaluated in log
//     space (LogNEHVI);
//   - outcome constraints (purity ≥ 70 %, viability ≥ 70 %) add the log probability of
//     feasibility under each constrained outcome's own GP.
//
// "Noisy" means the incumbent (the best value, or the Pareto front) is not read off the noisy
// observations: S joint samples of the latent f at the observed points are drawn, a noise-free
// fantasy model is conditioned on each, and the acquisition is the average over fantasies
// (logsumexp − log S). Points already chosen for the batch, and the caller's pending points,
// are fantasised the same way, so the next choice accounts for them. The fantasy models share
// their points and hyperparameters, hence one factorisation and one posterior variance
// (gp.Shared): each extra fantasy costs a dot product per evaluation, not a prediction. S is
// 16 for one objective and 64 for two (DefaultFantasies, DefaultFantasiesEHVI); in an EHVI
// cell, log h and its derivative are taken once per edge of a fantasy's front (logHD).
//
// All gradients of the acquisitions are analytic (chain rule through gp.Model.PredictGrad and gp.Shared.PredictGrad) and
// tested against finite differences; none uses finite-difference gradients. The acquisition is
// maximised by multi-start L-BFGS (gonum/optimize) from the best of many space-filling raw
// candidates, in a smooth reparameterisation of the unit box; categorical coordinates are
// enumerated when they have at most 32 level combinations and otherwise alternated with the
// continuous ones; linear input constraints A x ≤ b are enforced exactly.
//
// Inputs live in unit coordinates: continuous factors in [0,1] (the caller maps concentrations,
// logs and ratios onto it), categorical ones as a level index. Integer factors are the
// caller's: Options.Round rounds a suggestion before it joins the batch.
//
// The benchmark harness (RunCampaign, Benchmark) runs whole optimisation campaigns on the
// synthetic problems of the BoTorch tutorials (noisy Hartmann 6, BraninCurrin) with the
// strategies "bo", "sobol" and "random", so the optimiser's performance is a number anyone can
// reproduce.
package bo
