//! Publicity: which cases the public may see (through Open311) and what of them. A case is
//! public only when its reporter chose so at intake — an Open311 client always does, since
//! GeoReport v2 has no private request — or when staff published it after review. A public case
//! shows its location rounded to a grid, its description or staff's redaction of it, and only
//! the address and photos staff approved; names and phones never.

use crate::model::publicity::{Original, Publication, Shown};
use crate::model::{Channel, Kind};
use gongzhi_core::{Error, Result};

/// Published when the reporter says nothing: complaints and reports (举报) often name
/// neighbours, a hotline caller is not asked in writing, and imported history was never asked.
pub fn public_by_default(kind: Kind, channel: Channel) -> bool {
    !matches!(kind, Kind::Complaint | Kind::Report)
        && !matches!(channel, Channel::Hotline | Channel::Import)
}

/// The choice made at intake: the reporter's answer, else the default for the kind and channel.
pub fn chosen_at_intake(kind: Kind, channel: Channel, asked: Option<bool>) -> bool {
    asked.unwrap_or_else(|| public_by_default(kind, channel))
}

/// Who made a choice at intake, as stored.
pub fn chooser(channel: Channel) -> &'static str {
    if channel == Channel::Open311 {
        "open311"
    } else {
        "reporter"
    }
}

/// A location snapped to the centre of its cell on a grid of `precision_m` metres: every point
/// of a cell gives the same answer, so the answer tells no more than the cell. Rows are
/// `precision_m` of latitude; each row's cells are `precision_m` wide at the row's centre.
pub fn round_to_grid(lat: f64, lng: f64, precision_m: f64) -> (f64, f64) {
    const M_PER_DEG: f64 = 111_320.0;
    let d_lat = precision_m / M_PER_DEG;
    let row = (lat / d_lat).floor();
    let lat_c = ((row + 0.5) * d_lat).clamp(-90.0, 90.0);
    let d_lng = d_lat / lat_c.to_radians().cos().max(0.01);
    let col = (lng / d_lng).floor();
    let lng_c = ((col + 0.5) * d_lng).clamp(-180.0, 180.0);
    // Six decimals (≈0.1 m) keep the figures short without moving them off the centre.
    let six = |v: f64| (v * 1e6).round() / 1e6;
    (six(lat_c), six(lng_c))
}

/// The public part of a case, or none when it is not public.
pub fn shown(p: &Publication, o: &Original, precision_m: u32) -> Option<Shown> {
    if !p.public {
        return None;
    }
    let (lat, lng) = match (o.lat, o.lng) {
        (Some(a), Some(b)) => {
            let (a, b) = round_to_grid(a, b, f64::from(precision_m));
            (Some(a), Some(b))
        }
        _ => (None, None),
    };
    Some(Shown {
        description: p
            .public_description
            .clone()
            .unwrap_or_else(|| o.description.to_string()),
        lat,
        lng,
        address: o.address.filter(|_| p.address_public).map(String::from),
        // An approval counts only for a photo still on the case.
        photos: o
            .photos
            .iter()
            .filter(|id| p.photos_public.contains(id))
            .cloned()
            .collect(),
    })
}

/// A photo's bytes as the public gets them: without EXIF, XMP, comments or text chunks, which
/// carry the camera's exact position and time. GIFs carry none of these and pass as they are.
pub fn public_photo(content_type: &str, bytes: Vec<u8>) -> Result<Vec<u8>> {
    use img_parts::{jpeg, png, webp, ImageEXIF};
    let bad = |e: img_parts::Error| {
        Error::invalid("unpublishable_photo", format!("a damaged photo: {e}"))
    };
    Ok(match content_type {
        "image/jpeg" => {
            let mut j = jpeg::Jpeg::from_bytes(bytes.into()).map_err(bad)?;
            // APP1 holds EXIF and XMP; APP13 Photoshop's IPTC; COM free comments.
            j.segments_mut().retain(|s| {
                !matches!(
                    s.marker(),
                    jpeg::markers::APP1 | jpeg::markers::APP13 | jpeg::markers::COM
                )
            });
            j.encoder().bytes().to_vec()
        }
        "image/png" => {
            let mut p = png::Png::from_bytes(bytes.into()).map_err(bad)?;
            p.chunks_mut()
                .retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"iTXt" | b"zTXt" | b"tIME"));
            p.encoder().bytes().to_vec()
        }
        "image/webp" => {
            let mut w = webp::WebP::from_bytes(bytes.into()).map_err(bad)?;
            w.set_exif(None);
            w.remove_chunks_by_id(webp::CHUNK_XMP);
            w.encoder().bytes().to_vec()
        }
        _ => bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::publicity::Original;
    use proptest::prelude::*;

    fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
        crate::rules::nearby::haversine_m(a.0, a.1, b.0, b.1)
    }

    #[test]
    fn defaults_keep_complaints_reports_and_hotline_calls_private() {
        use Channel::*;
        use Kind::*;
        for kind in [Inquiry, Help, Complaint, Report, Suggestion] {
            for channel in [Hotline, Web, Patrol, Open311, Api, Import] {
                let sensitive = matches!(kind, Complaint | Report);
                let unasked = matches!(channel, Hotline | Import);
                assert_eq!(
                    chosen_at_intake(kind, channel, None),
                    !sensitive && !unasked,
                    "{kind:?} by {channel:?}"
                );
                // The reporter's own answer always wins.
                assert!(chosen_at_intake(kind, channel, Some(true)));
                assert!(!chosen_at_intake(kind, channel, Some(false)));
            }
        }
    }

    #[test]
    fn what_a_public_case_shows() {
        let photos = vec!["p1".to_string(), "p2".to_string()];
        let o = Original {
            description: "3号楼王某家门口井盖丢了",
            lat: Some(39.912_345_6),
            lng: Some(116.401_234_5),
            address: Some("东城区某胡同 3 号楼"),
            photos: &photos,
        };
        assert_eq!(shown(&Publication::default(), &o, 100), None);
        let chosen = Publication {
            public: true,
            ..Default::default()
        };
        let s = shown(&chosen, &o, 100).unwrap();
        assert_eq!(s.description, o.description);
        assert_eq!(s.address, None, "the address waits for staff");
        assert!(s.photos.is_empty(), "photos wait for staff");
        assert_ne!(s.lat, o.lat);
        assert!(
            metres(
                (s.lat.unwrap(), s.lng.unwrap()),
                (39.912_345_6, 116.401_234_5)
            ) < 75.0
        );
        let reviewed = Publication {
            public: true,
            public_description: Some("井盖丢失".into()),
            address_public: true,
            photos_public: vec!["p2".into(), "gone".into()],
            ..Default::default()
        };
        let s = shown(&reviewed, &o, 100).unwrap();
        assert_eq!(s.description, "井盖丢失");
        assert_eq!(s.address.as_deref(), o.address);
        assert_eq!(s.photos, vec!["p2".to_string()]);
    }

    #[test]
    fn stripped_photos_lose_their_metadata() {
        use img_parts::jpeg::{markers, Jpeg, JpegSegment};
        // A JPEG with an EXIF segment naming a position and a comment.
        let mut jpeg = vec![0xFF, 0xD8];
        let exif = b"Exif\0\0GPS 39.9123N 116.4012E";
        jpeg.extend([0xFF, 0xE1, 0, (exif.len() + 2) as u8]);
        jpeg.extend(exif);
        jpeg.extend([0xFF, 0xFE, 0, 9]);
        jpeg.extend(b"comment");
        jpeg.extend([0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 0x3F, 0, 1, 2, 3, 0xFF, 0xD9]);
        let parsed = Jpeg::from_bytes(jpeg.clone().into()).unwrap();
        assert!(parsed
            .segments()
            .iter()
            .any(|s| s.marker() == markers::APP1));
        let out = public_photo("image/jpeg", jpeg).unwrap();
        let text = String::from_utf8_lossy(&out);
        assert!(!text.contains("GPS") && !text.contains("comment"), "{text}");
        let again = Jpeg::from_bytes(out.into()).unwrap();
        assert!(again
            .segments()
            .iter()
            .all(|s: &JpegSegment| s.marker() != markers::APP1));
    }

    #[test]
    fn png_text_chunks_are_stripped_and_the_image_kept() {
        use img_parts::png::{Png, PngChunk};
        // One transparent pixel, with a text chunk naming a place.
        const PNG: &[u8] = &[
            0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48,
            0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00,
            0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78,
            0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00,
            0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
        ];
        assert_eq!(public_photo("image/png", PNG.to_vec()).unwrap(), PNG);
        let mut p = Png::from_bytes(PNG.to_vec().into()).unwrap();
        p.chunks_mut()
            .insert(1, PngChunk::new(*b"tEXt", "Location\0GPS 39.9N".into()));
        let tagged = p.encoder().bytes().to_vec();
        assert_eq!(public_photo("image/png", tagged).unwrap(), PNG);
    }

    proptest! {
        #[test]
        fn rounding_stays_near_and_tells_only_the_cell(
            lat in -80.0f64..80.0, lng in -179.0f64..179.0,
            precision in 10u32..5000, dx in 0.0f64..1.0, dy in 0.0f64..1.0,
        ) {
            let p = f64::from(precision);
            let r = round_to_grid(lat, lng, p);
            // Within half a cell's diagonal (plus the spherical approximation's slack).
            prop_assert!(metres((lat, lng), r) <= p * 0.75 + 1.0, "{:?} → {:?}", (lat, lng), r);
            // Rounding again changes nothing.
            prop_assert_eq!(round_to_grid(r.0, r.1, p), r);
            // Any other point of the same cell gives the same answer.
            let d_lat = p / 111_320.0;
            let row = (lat / d_lat).floor();
            let lat2 = (row + 0.02 + 0.96 * dy) * d_lat;
            let d_lng = d_lat / ((row + 0.5) * d_lat).to_radians().cos();
            let col = (lng / d_lng).floor();
            let lng2 = (col + 0.02 + 0.96 * dx) * d_lng;
            prop_assert_eq!(round_to_grid(lat2, lng2, p), r);
        }
    }
}
