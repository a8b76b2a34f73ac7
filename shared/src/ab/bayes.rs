//! Which variant is best, and what choosing each would cost: the Beta-Binomial model with a
//! uniform prior. A variant with `s` successes among `n` trials has the posterior
//! Beta(1 + s, 1 + n − s) for its rate.
//!
//! - Two variants: closed forms. P(p_B > p_A) is Evan Miller's sum ("Formulas for Bayesian A/B
//!   Testing"); the expected loss of choosing A, E[max(p_B − p_A, 0)], is
//!   E[p_B]·P(B⁺ > A) − E[p_A]·P(B > A⁺), where X⁺ is X's posterior with one more success
//!   (Chris Stucchio's derivation: p·f(p) is, up to E[p], the density of X⁺).
//! - Three to five: one-dimensional integrals on a grid of [`GRID`] steps spanning every
//!   posterior's mean ± 12 standard deviations: P(i is best) = ∫ f_i(x) Π_{j≠i} F_j(x) dx, and
//!   the expected loss of i is E[max_j p_j] − E[p_i], with E[max] = ∫ (1 − Π_j F_j(x)) dx.
//!   Densities are exact (log-gamma); distribution functions are their running trapezoid sums.

use libm::lgamma;

/// Steps of the integration grid: each posterior spans thousands of them, so the trapezoid
/// error is far below what is shown (four decimals).
const GRID: usize = 20_000;

/// One variant's test: people who did what the metric counts, among delivered messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm {
    pub successes: u64,
    pub trials: u64,
}

/// A variant's probability to be the best, and the expected loss (in rate) of choosing it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub probability_best: f64,
    pub expected_loss: f64,
    /// The posterior mean of the variant's rate.
    pub mean: f64,
}

#[derive(Debug, Clone, Copy)]
struct Beta {
    a: f64,
    b: f64,
}

impl Beta {
    fn posterior(arm: Arm) -> Self {
        let successes = arm.successes.min(arm.trials);
        Self {
            a: 1.0 + successes as f64,
            b: 1.0 + (arm.trials - successes) as f64,
        }
    }

    /// One more success: p·f(p)/E[p] is this posterior's density.
    fn plus_one(self) -> Self {
        Self {
            a: self.a + 1.0,
            ..self
        }
    }

    fn mean(self) -> f64 {
        self.a / (self.a + self.b)
    }

    fn sd(self) -> f64 {
        let n = self.a + self.b;
        (self.a * self.b / (n * n * (n + 1.0))).sqrt()
    }

    fn density(self, x: f64) -> f64 {
        // `0 · ln 0` is 0 here: a uniform side has no pole at its end.
        let side = |power: f64, at: f64| if power == 0.0 { 0.0 } else { power * at.ln() };
        (side(self.a - 1.0, x) + side(self.b - 1.0, 1.0 - x) - ln_beta(self.a, self.b)).exp()
    }
}

fn ln_beta(a: f64, b: f64) -> f64 {
    lgamma(a) + lgamma(b) - lgamma(a + b)
}

/// P(Y > X) for Beta posteriors with a whole `y.a` (Evan Miller's closed form).
fn probability_greater(x: Beta, y: Beta) -> f64 {
    let terms = y.a as u64;
    (0..terms)
        .map(|i| {
            let i = i as f64;
            (ln_beta(x.a + i, x.b + y.b)
                - (y.b + i).ln()
                - ln_beta(1.0 + i, y.b)
                - ln_beta(x.a, x.b))
            .exp()
        })
        .sum::<f64>()
        .clamp(0.0, 1.0)
}

/// The evaluation of each arm, in order.
pub fn evaluate(arms: &[Arm]) -> Vec<Evaluation> {
    let posteriors: Vec<Beta> = arms.iter().copied().map(Beta::posterior).collect();
    match posteriors.as_slice() {
        [] => Vec::new(),
        [only] => vec![Evaluation {
            probability_best: 1.0,
            expected_loss: 0.0,
            mean: only.mean(),
        }],
        [a, b] => two(*a, *b).to_vec(),
        _ => on_grid(&posteriors),
    }
}

fn two(a: Beta, b: Beta) -> [Evaluation; 2] {
    let b_better = probability_greater(a, b);
    let loss_of_a = (b.mean() * probability_greater(a, b.plus_one())
        - a.mean() * probability_greater(a.plus_one(), b))
    .max(0.0);
    // E[max(A − B, 0)] − E[max(B − A, 0)] = E[A] − E[B].
    let loss_of_b = (loss_of_a + a.mean() - b.mean()).max(0.0);
    [
        Evaluation {
            probability_best: 1.0 - b_better,
            expected_loss: loss_of_a,
            mean: a.mean(),
        },
        Evaluation {
            probability_best: b_better,
            expected_loss: loss_of_b,
            mean: b.mean(),
        },
    ]
}

/// The grid both integrals run on, and each posterior's density and distribution on it.
struct Grid {
    start: f64,
    step: f64,
    densities: Vec<Vec<f64>>,
    distributions: Vec<Vec<f64>>,
}

impl Grid {
    fn new(posteriors: &[Beta]) -> Self {
        let start = posteriors
            .iter()
            .map(|p| p.mean() - 12.0 * p.sd())
            .fold(1.0, f64::min)
            .max(0.0);
        let end = posteriors
            .iter()
            .map(|p| p.mean() + 12.0 * p.sd())
            .fold(0.0, f64::max)
            .min(1.0);
        let step = (end - start) / GRID as f64;
        let densities: Vec<Vec<f64>> = posteriors
            .iter()
            .map(|p| {
                (0..=GRID)
                    .map(|k| p.density(start + k as f64 * step))
                    .collect()
            })
            .collect();
        let distributions = densities
            .iter()
            .map(|density| {
                let mut running = Vec::with_capacity(density.len());
                let mut total = 0.0;
                running.push(0.0);
                for pair in density.windows(2) {
                    total += (pair[0] + pair[1]) * step / 2.0;
                    running.push(total);
                }
                // The mass outside the grid is nil; what the sum misses is rounding.
                running.iter().map(|f| f / total).collect()
            })
            .collect();
        Self {
            start,
            step,
            densities,
            distributions,
        }
    }

    fn integral(&self, f: impl Fn(usize) -> f64) -> f64 {
        let inner: f64 = (1..GRID).map(&f).sum();
        (inner + (f(0) + f(GRID)) / 2.0) * self.step
    }
}

fn on_grid(posteriors: &[Beta]) -> Vec<Evaluation> {
    let grid = Grid::new(posteriors);
    let others_below = |i: usize, k: usize| -> f64 {
        (0..posteriors.len())
            .filter(|j| *j != i)
            .map(|j| grid.distributions[j][k])
            .product()
    };
    let best: Vec<f64> = (0..posteriors.len())
        .map(|i| grid.integral(|k| grid.densities[i][k] * others_below(i, k)))
        .collect();
    let total: f64 = best.iter().sum();
    let all_below = |k: usize| -> f64 { grid.distributions.iter().map(|d| d[k]).product() };
    let expected_max = grid.start + grid.integral(|k| 1.0 - all_below(k));
    posteriors
        .iter()
        .zip(best)
        .map(|(posterior, best)| Evaluation {
            probability_best: best / total,
            expected_loss: (expected_max - posterior.mean()).max(0.0),
            mean: posterior.mean(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(successes: u64, trials: u64) -> Arm {
        Arm { successes, trials }
    }

    fn close(got: f64, expected: f64, tolerance: f64) -> bool {
        (got - expected).abs() <= tolerance
    }

    /// Beta(a, b) for whole a, b: the a-th smallest of a + b − 1 uniforms.
    fn sample(rng: &mut fastrand::Rng, posterior: Beta, scratch: &mut Vec<f64>) -> f64 {
        let (a, b) = (posterior.a as usize, posterior.b as usize);
        scratch.clear();
        scratch.extend((0..a + b - 1).map(|_| rng.f64()));
        *scratch
            .select_nth_unstable_by(a - 1, |x, y| x.total_cmp(y))
            .1
    }

    /// The independent reference: draws from every posterior, counting who is best and what
    /// choosing each loses.
    fn monte_carlo(arms: &[Arm], draws: usize) -> Vec<(f64, f64)> {
        let posteriors: Vec<Beta> = arms.iter().copied().map(Beta::posterior).collect();
        let mut rng = fastrand::Rng::with_seed(17);
        let mut scratch = Vec::new();
        let mut wins = vec![0usize; arms.len()];
        let mut losses = vec![0.0; arms.len()];
        for _ in 0..draws {
            let values: Vec<f64> = posteriors
                .iter()
                .map(|p| sample(&mut rng, *p, &mut scratch))
                .collect();
            let max = values.iter().copied().fold(0.0, f64::max);
            let leader = values.iter().position(|v| *v == max).unwrap();
            wins[leader] += 1;
            for (loss, value) in losses.iter_mut().zip(&values) {
                *loss += max - value;
            }
        }
        wins.iter()
            .zip(losses)
            .map(|(w, l)| (*w as f64 / draws as f64, l / draws as f64))
            .collect()
    }

    #[test]
    fn worked_examples_come_out_as_computed_by_hand() {
        // Two uniform posteriors: a coin toss; the loss is E[max(U₁ − U₂, 0)] = 1/6.
        for e in evaluate(&[arm(0, 0), arm(0, 0)]) {
            assert!(close(e.probability_best, 0.5, 1e-12), "{e:?}");
            assert!(close(e.expected_loss, 1.0 / 6.0, 1e-12), "{e:?}");
        }
        // Three: each best a third of the time; the loss is E[max of three] − 1/2 = 1/4.
        for e in evaluate(&[arm(0, 0), arm(0, 0), arm(0, 0)]) {
            assert!(close(e.probability_best, 1.0 / 3.0, 1e-6), "{e:?}");
            assert!(close(e.expected_loss, 0.25, 1e-6), "{e:?}");
        }
        // One failure against one success: Beta(1, 2) against Beta(2, 1). By hand,
        // P(B > A) = ∫ 2(1 − x)(1 − x²) dx = 5/6, E[max(B − A, 0)] = 11/30, and choosing B
        // loses 11/30 − (2/3 − 1/3) = 1/30.
        let [a, b] = evaluate(&[arm(0, 1), arm(1, 1)])[..] else {
            panic!("two evaluations")
        };
        assert!(close(b.probability_best, 5.0 / 6.0, 1e-12), "{b:?}");
        assert!(close(a.expected_loss, 11.0 / 30.0, 1e-12), "{a:?}");
        assert!(close(b.expected_loss, 1.0 / 30.0, 1e-12), "{b:?}");
    }

    #[test]
    fn the_posterior_matches_a_published_likelihood_of_superiority() {
        // Rémi Coulom's computer-chess example (2002): 4 wins and 6 losses give a probability
        // of 0.274414 that the win rate is above one half: 1 − F(½) for Beta(5, 7).
        let grid = Grid::new(&[Beta::posterior(arm(4, 10))]);
        let half = ((0.5 - grid.start) / grid.step).round() as usize;
        assert!(close(1.0 - grid.distributions[0][half], 0.274414, 2e-6));
    }

    #[test]
    fn the_closed_form_and_the_grid_agree_on_two_variants() {
        for (a, b) in [
            (arm(12, 50), arm(20, 50)),
            (arm(120, 1000), arm(145, 1000)),
            (arm(0, 40), arm(3, 35)),
            (arm(450, 900), arm(440, 910)),
        ] {
            let closed = two(Beta::posterior(a), Beta::posterior(b));
            let grid = on_grid(&[Beta::posterior(a), Beta::posterior(b)]);
            for (c, g) in closed.iter().zip(&grid) {
                assert!(
                    close(c.probability_best, g.probability_best, 1e-6),
                    "{a:?} {b:?}: {c:?} {g:?}"
                );
                assert!(
                    close(c.expected_loss, g.expected_loss, 1e-6),
                    "{a:?} {b:?}: {c:?} {g:?}"
                );
            }
        }
    }

    #[test]
    fn the_computation_holds_to_a_monte_carlo_reference() {
        for arms in [
            vec![arm(12, 50), arm(20, 50)],
            vec![arm(5, 48), arm(27, 51), arm(11, 50)],
            vec![
                arm(9, 30),
                arm(11, 30),
                arm(10, 31),
                arm(14, 29),
                arm(8, 30),
            ],
        ] {
            let draws = 100_000;
            let reference = monte_carlo(&arms, draws);
            for (e, (best, loss)) in evaluate(&arms).iter().zip(reference) {
                // Three standard errors of the estimate of a proportion.
                let tolerance = 3.0 * (best * (1.0 - best) / draws as f64).sqrt() + 1e-3;
                assert!(
                    close(e.probability_best, best, tolerance),
                    "{arms:?}: {e:?} vs {best}"
                );
                assert!(
                    close(e.expected_loss, loss, 2e-3),
                    "{arms:?}: {e:?} vs {loss}"
                );
            }
        }
    }

    #[test]
    fn probabilities_sum_to_one_and_a_clear_leader_is_nearly_sure() {
        let evaluations = evaluate(&[arm(5, 50), arm(30, 50), arm(10, 50)]);
        let total: f64 = evaluations.iter().map(|e| e.probability_best).sum();
        assert!(close(total, 1.0, 1e-9));
        assert!(evaluations[1].probability_best > 0.999, "{evaluations:?}");
        assert!(evaluations[1].expected_loss < 1e-4, "{evaluations:?}");
        assert!(evaluations[0].expected_loss > 0.4, "{evaluations:?}");
    }
}
