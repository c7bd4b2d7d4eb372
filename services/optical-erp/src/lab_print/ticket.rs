//! A work order as the ticket a station prints: the printing adapter's plain text, filled
//! from the lab's domain values. Patient initials only; an erased patient's job prints
//! without its prescription.
use optical_lab::{LabStage, Personal, Station, WorkOrder};
use optical_lab_print::{EyeGeometryLine, FrameLine, LensLine, RxLine, Ticket};
use optical_optics::{Eye, EyeRx, NearPupillaryDistance, PupillaryDistance};

fn rx_line(eye: Eye, rx: Option<&EyeRx>) -> RxLine {
    let label = match eye {
        Eye::Right => "OD",
        Eye::Left => "OS",
    };
    let Some(rx) = rx else {
        return RxLine {
            eye: label.into(),
            sphere: String::new(),
            cylinder: String::new(),
            axis: String::new(),
            add: String::new(),
            prism: String::new(),
            base: String::new(),
        };
    };
    RxLine {
        eye: label.into(),
        sphere: rx.sphere().dioptres().to_string(),
        cylinder: rx.cylinder().dioptres().to_string(),
        axis: rx
            .axis()
            .map(|a| a.degrees().to_string())
            .unwrap_or_default(),
        add: rx
            .add()
            .map(|a| a.dioptres().to_string())
            .unwrap_or_default(),
        prism: rx
            .prism()
            .map(|p| {
                p.amount
                    .dioptres()
                    .to_string()
                    .trim_start_matches('+')
                    .to_owned()
            })
            .unwrap_or_default(),
        base: rx
            .prism()
            .map(|p| p.base.as_str().to_uppercase())
            .unwrap_or_default(),
    }
}

fn pd_text(pd: &PupillaryDistance) -> String {
    match pd {
        PupillaryDistance::Binocular(pd) => pd.millimetres().to_string(),
        PupillaryDistance::Monocular { right, left } => {
            format!("{} / {}", right.millimetres(), left.millimetres())
        }
    }
}

fn near_pd_text(pd: Option<&NearPupillaryDistance>) -> String {
    match pd {
        None => String::new(),
        Some(NearPupillaryDistance::Binocular(pd)) => pd.millimetres().to_string(),
        Some(NearPupillaryDistance::Monocular { right, left }) => {
            format!("{} / {}", right.millimetres(), left.millimetres())
        }
    }
}

/// The ticket for `work_order` entering `stage` at `station`, at `at`.
pub fn ticket(
    work_order: &WorkOrder,
    stage: LabStage,
    station: &Station,
    at: chrono::DateTime<chrono::Utc>,
) -> Ticket {
    let job = work_order.job().and_then(Personal::revealed);
    let rx = job.map(|j| &j.refraction);
    let eye = |e: Eye| rx.map(|r| r.eye(e));
    let heights: Vec<String> = Eye::BOTH
        .iter()
        .filter_map(|e| eye(*e).and_then(EyeRx::segment_height))
        .map(|h| h.millimetres().to_string())
        .collect();
    let lens = work_order.lens();
    let geometry = job
        .and_then(|j| j.geometry.as_ref())
        .map(|g| {
            Eye::BOTH
                .iter()
                .map(|e| {
                    let eg = g.eye(*e);
                    EyeGeometryLine {
                        eye: if *e == Eye::Right { "OD" } else { "OS" }.into(),
                        decentration: eg.decentration_mm.to_string(),
                        minimum_blank: eg.minimum_blank_mm.to_string(),
                        induced_prism: eg
                            .induced_prism
                            .map(|p| {
                                format!(
                                    "{} {}",
                                    p.amount.to_string().trim_start_matches('+'),
                                    p.base.as_str().to_uppercase()
                                )
                            })
                            .unwrap_or_default(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ticket {
        work_order_id: work_order
            .work_order_id()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        number: work_order
            .number()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        order_id: work_order
            .order_id()
            .map(|id| id.to_string())
            .unwrap_or_default(),
        stage: stage.as_str().replace('_', " ").to_uppercase(),
        station: station
            .settings()
            .map(|s| s.name.to_string())
            .unwrap_or_default(),
        at: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        patient_initials: job
            .map(|j| j.patient_initials.to_string())
            .unwrap_or_else(|| "(erased)".into()),
        rx: vec![
            rx_line(Eye::Right, eye(Eye::Right)),
            rx_line(Eye::Left, eye(Eye::Left)),
        ],
        pd: rx.map(|r| pd_text(r.pd())).unwrap_or_default(),
        near_pd: rx.map(|r| near_pd_text(r.near_pd())).unwrap_or_default(),
        segment_height: heights.join(" / "),
        frame: work_order.frame().map(|f| FrameLine {
            brand: f.brand.as_ref().map(|b| b.to_string()).unwrap_or_default(),
            model: f.model.as_ref().map(|m| m.to_string()).unwrap_or_default(),
            a: f.boxing.a().to_string(),
            b: f.boxing.b().to_string(),
            dbl: f.boxing.dbl().to_string(),
            ed: f.boxing.ed().to_string(),
        }),
        lens: LensLine {
            description: lens
                .and_then(|l| l.description())
                .map(|d| d.to_string())
                .unwrap_or_default(),
            material: lens
                .map(|l| l.material().as_str().into())
                .unwrap_or_default(),
            index: lens.map(|l| l.index().to_string()).unwrap_or_default(),
            design: lens.map(|l| l.design().as_str().into()).unwrap_or_default(),
            coatings: lens
                .map(|l| {
                    l.coatings()
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default(),
            tint: lens
                .and_then(|l| l.tint())
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
        },
        geometry,
        notes: work_order
            .notes()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        due_on: work_order
            .due_on()
            .map(|d| d.to_string())
            .unwrap_or_default(),
        parts: Vec::new(),
    }
}
