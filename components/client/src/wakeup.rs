//! One re-armable timer per component: the owner says when it next needs to wake, and the
//! timer is moved only when that changes (the engine's cancellation is cheap, but a stable
//! timer keeps traces short).

use sim::{Ctx, Message, Time, TimerId};

#[derive(Clone, Debug)]
pub struct Wakeup {
    tag: u64,
    armed: Option<(TimerId, Time)>,
}

impl Wakeup {
    pub fn new(tag: u64) -> Self {
        Wakeup { tag, armed: None }
    }

    pub fn tag(&self) -> u64 {
        self.tag
    }

    /// The timer fired: it is no longer armed.
    pub fn fired(&mut self) {
        self.armed = None;
    }

    /// Makes the timer fire at `at` (host clock), or never.
    pub fn arm<M: Message>(&mut self, ctx: &mut Ctx<'_, M>, at: Option<Time>) {
        if self.armed.map(|(_, t)| t) == at {
            return;
        }
        if let Some((id, _)) = self.armed.take() {
            ctx.cancel_timer(id);
        }
        if let Some(at) = at {
            let delay = at.saturating_since(ctx.now());
            self.armed = Some((ctx.set_timer(delay, self.tag), at));
        }
    }
}
